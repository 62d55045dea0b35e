"""Where the database lives: the platform default and the override precedence."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import platformdirs

ENV_VAR = "IKIGAI_DB"
FILE_NAME = "ikigai.db"


def default_db_path() -> Path:
    """``<user data dir>/ikigai/ikigai.db`` as the platform defines it
    (``~/.local/share/ikigai/ikigai.db`` on Linux)."""
    return Path(platformdirs.user_data_dir("ikigai")) / FILE_NAME


def resolve_db_path(flag: str | None, env: Mapping[str, str], config_path: str | None) -> Path:
    """Pick the database path: ``--db`` flag, else ``IKIGAI_DB``, else the config's
    ``[storage] path``, else the default. Empty strings count as unset; ``~`` is
    expanded. A relative path is relative to the working directory (a config
    loader that wants paths relative to its file resolves them before calling).
    """
    for candidate in (flag, env.get(ENV_VAR), config_path):
        if candidate is not None and candidate.strip():
            return Path(candidate.strip()).expanduser()
    return default_db_path()
