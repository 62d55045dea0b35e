"""Several OS processes on one file, and crashes mid-stream."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ikigai.storage import Database
from ikigai.storage.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage.workers", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # does not exist yet: they also race to migrate it
    tags = ["alpha", "bravo", "charlie"]
    count = 300
    processes = [worker("writer", str(path), tag, str(count)) for tag in tags]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr

    with sqlite3.connect(path) as conn:
        migrations = conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()
        assert migrations == [(m.version, m.name) for m in MIGRATIONS]
        for tag in tags:
            contents = {
                row[0]
                for row in conn.execute(
                    "SELECT m.content FROM messages AS m JOIN conversations AS c "
                    "ON c.id = m.conversation_id WHERE c.title = ?",
                    (f"writer {tag}",),
                )
            }
            expected = {f"{tag} single {n}" for n in range(count) if n % 10}
            expected |= {f"{tag} batched {n}" for n in range(0, count, 10)}
            expected |= {f"{tag} reply {n}" for n in range(0, count, 10)}
            assert contents == expected
        total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert total == len(tags) * (count + count // 10)
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout)
    selector.close()
    if not ready:
        process.kill()
        pytest.fail(f"worker printed nothing in {timeout} s: {process.communicate()[1]}")
    return process.stdout.readline().strip()


async def test_kill_9_mid_stream_leaves_an_interrupted_row(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    process = worker("stream", str(path))
    try:
        message_id = int(read_line(process, timeout=60))
        await asyncio.sleep(0.4)  # let a few more throttled flushes happen

        # While the writer lives, another process opening the file leaves its row alone.
        async with await Database.open(path) as db:
            live = await db.get_message(message_id)
            assert live is not None and live.status == "streaming"
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    async with await Database.open(path) as db:
        message = await db.get_message(message_id)
    assert message is not None
    assert message.status == "interrupted"
    assert message.data["recovered"] is True
    assert message.data["model"] == "gpt-test"
    words = message.content.split()
    assert len(words) >= 20
    assert words == [f"word{n}" for n in range(len(words))]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        owners = conn.execute("SELECT count(*) FROM stream_owners").fetchone()[0]
        assert owners == 0
    conn.close()
