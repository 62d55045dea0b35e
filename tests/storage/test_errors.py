"""Files we must refuse, with a clear message and without modifying them."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikigai.storage import (
    Database,
    DatabaseAccessError,
    DatabaseCorruptError,
    ForeignDatabaseError,
    SchemaTooNewError,
    StorageError,
)

ROOT = Path(__file__).resolve().parents[2]


def fingerprint(path: Path) -> tuple[bytes, int, int]:
    stat = path.stat()
    return path.read_bytes(), stat.st_mtime_ns, stat.st_size


def directory_listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def make_database(path: Path, messages: int = 200) -> None:
    async with await Database.open(path) as db:
        conversation = await db.create_conversation()
        async with db.transaction():
            for number in range(messages):
                await db.add_message(conversation, "user", f"message {number} " + "x" * 200)


async def assert_refused(path: Path, error: type[StorageError], words: str) -> StorageError:
    before = fingerprint(path)
    with pytest.raises(error) as caught:
        await Database.open(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)
    assert caught.value.path == path
    assert fingerprint(path) == before
    return caught.value


async def test_text_file_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("These are my notes, not a database.\n" * 50)
    await assert_refused(path, DatabaseCorruptError, "not an SQLite database")
    assert directory_listing(tmp_path) == ["notes.db"]


async def test_tiny_file_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "tiny.db"
    path.write_bytes(b"SQLite format 3\x00\x10\x00")
    await assert_refused(path, DatabaseCorruptError, "not an SQLite database")


async def test_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ikigai.db"
    await make_database(path)
    data = path.read_bytes()
    assert len(data) > 8 * 4096
    path.write_bytes(data[: len(data) // 2])
    error = await assert_refused(path, DatabaseCorruptError, "truncated")
    assert "move it aside" in str(error)


async def test_damaged_first_page_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ikigai.db"
    await make_database(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)
    path.write_bytes(bytes(data))
    await assert_refused(path, DatabaseCorruptError, "damaged")


async def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ikigai.db"
    await make_database(path, messages=3)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO schema_migrations(version, name, applied_at) "
            "VALUES (99, 'from_the_future', '2030-01-01T00:00:00.000Z')"
        )
    conn.close()
    error = await assert_refused(path, SchemaTooNewError, "newer ikigai")
    assert "99" in str(error)


async def test_database_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE recipes(name TEXT)")
        conn.execute("INSERT INTO recipes VALUES ('bread')")
    conn.close()
    await assert_refused(path, ForeignDatabaseError, "some other program")


async def test_directory_in_place_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ikigai.db"
    path.mkdir()
    with pytest.raises(DatabaseAccessError, match="is a directory"):
        await Database.open(path)


async def test_empty_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "ikigai.db"
    path.touch()
    async with await Database.open(path) as db:
        assert await db.list_conversations() == []


@pytest.fixture
def locked_dir() -> Iterator[Path]:
    """A directory owned by root with mode 0755, reachable by other users."""
    directory = Path(tempfile.mkdtemp(prefix="ikigai-perm-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def nobody_env() -> dict[str, str]:
    site_packages = sysconfig.get_paths()["purelib"]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), site_packages])}


@functools.cache
def nobody_python() -> str:
    """An interpreter the unprivileged user can run (the venv's may live under /root)."""
    candidates = [sys.executable, "/usr/bin/python3.11", shutil.which("python3") or ""]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import aiosqlite, storage"],
                user="nobody",
                env=nobody_env(),
                cwd=ROOT,
                capture_output=True,
                timeout=60,
                check=False,
            )
        except OSError:
            continue
        if probe.returncode == 0:
            return candidate
    pytest.fail(f"no Python interpreter among {candidates} can run as 'nobody' with aiosqlite")


def open_as_nobody(path: Path) -> dict[str, object]:
    result = subprocess.run(
        [nobody_python(), "-m", "tests.storage.workers", "open", str(path)],
        cwd=ROOT,
        env=nobody_env(),
        user="nobody",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, object] = json.loads(result.stdout)
    return outcome


def test_unwritable_directory_for_a_new_file(locked_dir: Path) -> None:
    path = locked_dir / "ikigai.db"
    outcome = open_as_nobody(path)
    assert outcome["ok"] is False
    assert outcome["type"] == "DatabaseAccessError"
    assert str(path) in str(outcome["message"])
    assert "not writable" in str(outcome["message"])
    assert not path.exists()


def test_unwritable_directory_for_a_missing_parent(locked_dir: Path) -> None:
    path = locked_dir / "sub" / "ikigai.db"
    outcome = open_as_nobody(path)
    assert outcome["type"] == "DatabaseAccessError"
    assert str(path) in str(outcome["message"])
    assert not (locked_dir / "sub").exists()


async def test_existing_database_not_writable_by_the_user(locked_dir: Path) -> None:
    path = locked_dir / "ikigai.db"
    await make_database(path, messages=3)
    path.chmod(0o644)
    before = fingerprint(path)
    outcome = open_as_nobody(path)
    assert outcome["ok"] is False
    assert outcome["type"] == "DatabaseAccessError"
    assert str(path) in str(outcome["message"])
    assert fingerprint(path) == before


def test_subprocess_user_really_lacks_permission(locked_dir: Path) -> None:
    """Guard for the tests above: the child is not root and cannot write the directory."""
    result = subprocess.run(
        [
            nobody_python(),
            "-c",
            f"import os; print(os.geteuid(), os.access({str(locked_dir)!r}, os.W_OK))",
        ],
        user="nobody",
        capture_output=True,
        text=True,
        check=True,
    )
    uid, writable = result.stdout.split()
    assert int(uid) != 0
    assert writable == "False"
