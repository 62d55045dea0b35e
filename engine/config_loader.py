"""Loading the configuration: the TOML file, ``IKIGAI_...`` variables, validation, a cache.

The file is ``$IKIGAI_CONFIG``, else ``<user config dir>/ikigai/config.toml``;
a missing default file simply means defaults. Environment variables use
``__`` for nesting (``IKIGAI_PROFILES__WORK__MODEL``) and win over the file.

Validation uses pydantic-settings (``engine.config_schema``). Importing
pydantic costs about 150 ms, a third of a headless run's start-up on a small
machine, so the validated result is cached as plain JSON keyed by everything it
depends on (the file's bytes, the ``IKIGAI_`` variables and the schema's
source) and a run whose configuration did not change never imports pydantic.
Nothing configured at all (no file, or a blank one, and no ``IKIGAI_``
settings variable) means the defaults, which the typed settings hold
themselves (a test keeps them equal to the schema's): that run reads no
cache and hashes nothing.

Errors are ``ConfigError`` with one line naming the file (or variable) and the
offending key or TOML line, so the CLI can print it and exit with status 2.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ikigai.engine.private_files import write_private
from ikigai.engine.settings import ConfigError, Settings

_SCHEMA_FILE = Path(__file__).with_name("config_schema.py")
_CACHE_ENTRIES = 8
_NOT_SETTINGS = frozenset({"IKIGAI_CONFIG", "IKIGAI_DB"})  # read directly, not settings


def default_config_path(env: Mapping[str, str]) -> Path:
    """``$IKIGAI_CONFIG`` or the platform's user config dir."""
    explicit = env.get("IKIGAI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("ikigai", appauthor=False)) / "config.toml"


def load_settings(config_path: str | Path | None = None) -> tuple[Settings, Path]:
    """Validated settings from the config file and the environment, and the file's path.

    An explicitly given file (flag or ``IKIGAI_CONFIG``) must exist; the
    default location may be absent.
    """
    explicit = config_path is not None or bool(os.environ.get("IKIGAI_CONFIG"))
    path = (
        Path(config_path).expanduser()
        if config_path is not None
        else default_config_path(os.environ)
    )
    try:
        raw = path.read_bytes() if path.is_file() else None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if raw is None and explicit:
        raise ConfigError(f"config file not found: {path}")
    if _blank(raw) and not _settings_variables():
        return Settings(), path
    cache_key = _cache_key(path, raw)
    cached = _read_cache(cache_key)
    if cached is None:
        data = _parse_toml(raw, path) if raw is not None else {}
        from ikigai.engine.config_schema import validate

        cached = validate(data, path)
        _write_cache(cache_key, cached)
    return Settings.from_data(cached), path


def _blank(raw: bytes | None) -> bool:
    """No file, or one holding only TOML whitespace (an empty table)."""
    return raw is None or not raw.replace(b"\r\n", b"\n").strip(b" \t\n")


def _settings_variables() -> list[str]:
    """The ``IKIGAI_...`` variables that are settings (all but the file and database paths)."""
    return sorted(
        name
        for name in os.environ
        if name.upper().startswith("IKIGAI_") and name.upper() not in _NOT_SETTINGS
    )


def _parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    import tomllib  # only on a cache miss

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config error in {path}: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error in {path}: invalid TOML: {exc}") from None


def _cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ikigai", appauthor=False)) / "config-cache.json"


def _cache_key(path: Path, raw: bytes | None) -> str:
    import hashlib  # not for a run with nothing configured

    digest = hashlib.sha256()
    digest.update(str(path).encode())
    digest.update(b"\0absent" if raw is None else b"\0" + raw)
    for name in _settings_variables():
        digest.update(f"\0{name}={os.environ[name]}".encode())
    digest.update(_SCHEMA_FILE.read_bytes())
    return digest.hexdigest()


def _read_cache(key: str) -> dict[str, Any] | None:
    config = _cache_entries().get(key)
    return config if isinstance(config, dict) else None


def _cache_entries() -> dict[str, Any]:
    try:
        entries = json.loads(_cache_path().read_bytes())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _write_cache(key: str, config: dict[str, Any]) -> None:
    entries = _cache_entries()
    entries.pop(key, None)
    entries[key] = config
    while len(entries) > _CACHE_ENTRIES:  # keep the most recently written
        del entries[next(iter(entries))]
    path = _cache_path()
    with contextlib.suppress(OSError):  # A cache that cannot be written only costs speed.
        write_private(path, json.dumps(entries))
