"""``ikigai -p`` when storage fails: a locked database, a full disk, before and mid-stream.

The contract: a failure at start sends nothing (one line, exit 2); a failure
mid-stream still prints the whole answer, then one line on stderr, exit 2;
nothing already stored is lost. Real SQLite files, a lock held by another
process's connection, a real full file system (a small tmpfs).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.headless_helpers import ROOT, clean_env, run_ikigai, start_ikigai
from tests.disks import fill
from tests.fakeserver import FakeServer, Fault, Reply, Text, ToolCall

ANSWER = "The whole answer arrives even though the database cannot take it. " * 4


def chat(server: FakeServer) -> list[str]:
    return ["--model", "openai-chat/fake-model", "--base-url", server.base_url("openai-chat")]


def make_database(path: Path) -> None:
    """A migrated ikigai database with one stored conversation."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio, sys\n"
            "from ikigai.storage import Database\n"
            "async def main():\n"
            "    db = await Database.open(sys.argv[1])\n"
            "    c = await db.create_conversation()\n"
            "    await db.add_message(c, 'user', 'stored earlier')\n"
            "    await db.close()\n"
            "asyncio.run(main())\n",
            str(path),
        ],
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def stored(path: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT kind, content FROM messages ORDER BY id").fetchall()


def one_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, OPENAI_API_KEY="sk-test", IKIGAI_STORAGE__BUSY_TIMEOUT="1")


def test_a_database_locked_at_start_sends_nothing(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    db = Path(env["IKIGAI_DB"])
    make_database(db)
    fake_server.enqueue(Reply([Text(ANSWER)]))
    with locked(db):
        result = run_ikigai(["-p", "hello", *chat(fake_server)], env)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("ikigai: ") and "locked" in line
    assert result.stdout == b""
    assert fake_server.requests == []
    assert stored(db) == [("user", "stored earlier")]


def test_a_database_locked_mid_stream_still_prints_the_whole_answer(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    db = Path(env["IKIGAI_DB"])
    make_database(db)
    fake_server.enqueue(Reply([Text(ANSWER, chunk=8)], fault=Fault("stall", 4, seconds=1.5)))
    process = start_ikigai(["-p", "hello", *chat(fake_server)], env)
    fake_server.wait_for_requests(1, timeout=30)
    time.sleep(0.3)  # the prompt was stored before the request; the answer has begun
    with locked(db):
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stdout.decode() == ANSWER + "\n"
    line = one_line(stderr)
    assert "not stored completely" in line and "locked" in line
    rows = stored(db)
    assert rows[:2] == [("user", "stored earlier"), ("user", "hello")]


def test_a_full_disk_at_start_sends_nothing(
    fake_server: FakeServer, tmp_path: Path, small_disk: Path
) -> None:
    db = small_disk / "ikigai.db"
    make_database(db)
    env = clean_env(
        tmp_path, OPENAI_API_KEY="sk-test", IKIGAI_DB=str(db), IKIGAI_STORAGE__BUSY_TIMEOUT="1"
    )
    fake_server.enqueue(Reply([Text(ANSWER)]))
    fill(small_disk)
    result = run_ikigai(["-p", "", *chat(fake_server)], env, stdin=b"x" * 200_000)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "full" in line
    assert fake_server.requests == []
    (small_disk / "filler").unlink()
    assert stored(db) == [("user", "stored earlier")]


def test_a_disk_that_fills_mid_stream_still_prints_the_whole_answer(
    fake_server: FakeServer, tmp_path: Path, small_disk: Path
) -> None:
    db = small_disk / "ikigai.db"
    make_database(db)
    env = clean_env(
        tmp_path, OPENAI_API_KEY="sk-test", IKIGAI_DB=str(db), IKIGAI_STORAGE__BUSY_TIMEOUT="1"
    )
    big = "A long answer that no longer fits on the disk. " * 4000
    fake_server.enqueue(Reply([Text(big, chunk=4000)], fault=Fault("stall", 3, seconds=1.5)))
    process = start_ikigai(["-p", "hello", *chat(fake_server)], env)
    fake_server.wait_for_requests(1, timeout=30)
    time.sleep(0.3)
    filler = fill(small_disk)
    stdout, stderr = process.communicate(timeout=60)
    filler.unlink()
    assert process.returncode == 2
    assert stdout.decode() == big + "\n"
    line = one_line(stderr)
    assert "not stored completely" in line and "full" in line
    assert stored(db)[:2] == [("user", "stored earlier"), ("user", "hello")]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_locked_database_does_not_hold_back_the_jsonl_stream(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """The ids of ``stored`` lines wait for the disk, the stream does not: with a lock
    that would keep a write waiting ten minutes, the next request still goes out."""
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-test", IKIGAI_STORAGE__BUSY_TIMEOUT="600")
    db = Path(env["IKIGAI_DB"])
    make_database(db)
    (tmp_path / "notes.txt").write_text("three\nlines\nhere\n", encoding="utf-8")
    fake_server.enqueue(
        Reply(
            [Text("Let me read it."), ToolCall("file_read", {"path": "notes.txt"}, id="c1")],
            fault=Fault("stall", 3, seconds=1.5),
        ),
        Reply([Text("It has three lines.")]),
    )
    process = start_ikigai(
        ["-p", "read notes.txt", "--output", "jsonl", *chat(fake_server)], env, cwd=tmp_path
    )
    fake_server.wait_for_requests(1, timeout=30)
    time.sleep(0.3)  # the prompt is stored; the first answer has begun
    with locked(db):
        fake_server.wait_for_requests(2, timeout=60)  # the tool round was not held back
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()
    types = [json.loads(line)["type"] for line in stdout.decode().splitlines()]
    assert types.count("done") == 2 and "tool_result" in types
    assert types.count("stored") >= 2  # said late, once the database was free again
