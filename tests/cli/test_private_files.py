"""What ikigai writes about the user is the user's alone: files 0600, directories 0700.

The database (and SQLite's -wal and -shm beside it), the config and model-list
caches, and the prompt history, under a permissive umask.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikigai.tui.history import PromptHistory
from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Reply, Text
from tests.fakeserver.models import openai_models


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common 022: without care, every file would be readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """Permission bits of everything below ``root``, by relative path."""
    return {
        str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode)
        for path in sorted(root.rglob("*"))
    }


def test_the_database_and_the_caches_are_private(fake_server: FakeServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback", IKIGAI_DB=str(data / "chats/ikigai.db"))
    fake_server.enqueue(Reply([Text("hello")]), openai_models("qwen3:8b"))
    base_url = fake_server.base_url("openai-chat")
    answered = run_ikigai(["-p", "hi", "--model", "openai-chat/m", "--base-url", base_url], env)
    assert answered.returncode == 0, answered.stderr
    listed = run_ikigai(["models", "openai-chat", "--base-url", base_url], env)
    assert listed.returncode == 0, listed.stderr
    stored = modes(data)
    assert stored["chats"] == 0o700
    assert stored["chats/ikigai.db"] == 0o600
    cached = modes(tmp_path / "cache")
    assert "ikigai/config-cache.json" in cached
    assert any(name.startswith("ikigai/models/") for name in cached)
    for name, mode in cached.items():
        assert mode == (0o700 if (tmp_path / "cache" / name).is_dir() else 0o600), name


def test_sqlite_gives_its_journal_files_the_databases_permissions(tmp_path: Path) -> None:
    import sqlite3

    from ikigai.storage.fileguard import check_file

    path = tmp_path / "private" / "ikigai.db"
    check_file(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        assert modes(tmp_path / "private") == {
            "ikigai.db": 0o600,
            "ikigai.db-shm": 0o600,
            "ikigai.db-wal": 0o600,
        }


def test_the_prompt_history_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ikigai" / "history.jsonl"
    history = PromptHistory(path, limit=2)
    for text in ("my first secret", "a second", "a third", "a fourth", "a fifth"):
        history.add(text)  # appends, then rewrites once the file holds twice the limit
    assert PromptHistory(path, limit=2).entries == ["a fourth", "a fifth"]
    assert modes(tmp_path / "state") == {"ikigai": 0o700, "ikigai/history.jsonl": 0o600}
