"""Several OS processes on one file, crashes mid-stream, and secrets in the file bytes."""

from __future__ import annotations

import asyncio
import os
import re
import selectors
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ikigai.providers.events import (
    Done,
    ProviderEvent,
    Start,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from ikigai.storage import Database, TurnRecorder
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


async def test_api_keys_never_reach_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-proj-Zq8testKEY4f1a9c0b7e2d6Xy"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    assert key in headers["Authorization"]
    encrypted = "gAAAAABoENCRYPTEDreasoningPAYLOAD0123456789"
    path = tmp_path / "keys.db"
    async with await Database.open(path) as db:
        conversation = await db.create_conversation(data={"profile": "default"})
        user = await db.add_message(conversation, "user", "What is in this folder?")
        recorder = TurnRecorder(
            db, conversation, user, provider="openai", model="gpt-5", thinking_level="low"
        )
        events: list[ProviderEvent] = [
            Start("gpt-5-2025-08-07"),
            ThinkingDelta(0, "**Listing files** I should call the shell tool."),
            ToolCallStart(0, "call_9f8e7d", "bash"),
            ToolCallDelta(0, '{"command":'),
            ToolCallDelta(0, '"ls"}'),
            ToolCallDone(0),
            TextDelta(1, "Let me check."),
            Done(
                "tool_use",
                Usage(812, 64, 40, 512, 876),
                {
                    "response_id": "resp_68a1b2c3d4e5",
                    "reasoning": [
                        {
                            "type": "reasoning",
                            "id": "rs_68a1b2c3",
                            "encrypted_content": encrypted,
                            "summary": [{"type": "summary_text", "text": "Listing files"}],
                        }
                    ],
                },
            ),
        ]
        for event in events:
            await recorder.record(event)
        scans = [database_bytes(path)]  # main file and write-ahead log while open
    scans.append(database_bytes(path))  # after close: checkpointed into the main file
    for blob in scans:
        assert encrypted.encode() in blob  # the scan does see what was recorded
        assert key.encode() not in blob
        assert re.search(rb"sk-proj-[A-Za-z0-9]{8,}", blob) is None


def database_bytes(path: Path) -> bytes:
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    return b"".join(p.read_bytes() for p in files)
