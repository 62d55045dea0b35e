"""Default database location and the precedence of overrides."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from ikigai.storage import default_db_path, resolve_db_path


def test_default_is_in_the_platform_user_data_dir() -> None:
    assert default_db_path() == Path(platformdirs.user_data_dir("ikigai")) / "ikigai.db"


def test_flag_beats_env_beats_config_beats_default() -> None:
    env = {"IKIGAI_DB": "/env/ikigai.db"}
    assert resolve_db_path("/flag.db", env, "/config.db") == Path("/flag.db")
    assert resolve_db_path(None, env, "/config.db") == Path("/env/ikigai.db")
    assert resolve_db_path(None, {}, "/config.db") == Path("/config.db")
    assert resolve_db_path(None, {}, None) == default_db_path()


def test_empty_values_count_as_unset_and_tilde_expands() -> None:
    assert resolve_db_path("", {"IKIGAI_DB": "  "}, "~/chats.db") == Path.home() / "chats.db"
    assert resolve_db_path(None, {"OTHER": "/x.db"}, "") == default_db_path()
