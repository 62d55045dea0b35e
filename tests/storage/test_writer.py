"""The background writer: order, throttled snapshots, and every way the disk can fail.

Real SQLite files throughout: a lock held by another connection, a real full
file system (a small tmpfs), a file system remounted read-only, a conversation
deleted by another process while its answer streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ikigai.storage import Database, DatabaseBusyError, DiskFullError, StorageError, StorageWriter
from tests.disks import fill
from tests.storage.sources import GrowingText


def rows(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


class Problems:
    """Collects what the writer reports."""

    def __init__(self) -> None:
        self.problems: list[StorageError] = []
        self.recovered = 0
        self.reported = asyncio.Event()

    def problem(self, error: StorageError) -> None:
        self.problems.append(error)
        self.reported.set()

    def recover(self) -> None:
        self.recovered += 1


async def settle(writer: StorageWriter, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        assert await writer.drain()


async def test_rows_are_written_in_order_with_their_parents(db: Database, db_path: Path) -> None:
    writer = StorageWriter(db)
    conversation = writer.conversation()
    prompt = writer.message(conversation, "user", "hello")
    note = writer.message(conversation, "mark", "m1", data={"label": "m1"}, parent=prompt)
    rewind = writer.message(
        conversation, "rewind", "m1", data=lambda: {"mark_id": note.id}, parent=note
    )
    assert prompt.id is None  # requests return at once; nothing was awaited
    await settle(writer)
    assert conversation.id is not None and prompt.id is not None
    stored = rows(db_path, "SELECT id, parent_id, kind, content, data FROM messages ORDER BY id")
    assert [(r[2], r[3]) for r in stored] == [("user", "hello"), ("mark", "m1"), ("rewind", "m1")]
    assert stored[1][1] == prompt.id and stored[2][1] == note.id
    assert json.loads(str(stored[2][4])) == {"mark_id": note.id}
    assert rewind.id == stored[2][0]
    assert await writer.close(1.0)


async def test_a_stream_coalesces_snapshots_and_ends_final(db: Database, db_path: Path) -> None:
    writer = StorageWriter(db, flush_interval=0.0)
    conversation = writer.conversation()
    answer = GrowingText({"model": "m"})
    answer.append("Hel")
    ref = writer.stream(conversation, answer)
    await settle(writer)
    assert rows(db_path, "SELECT content, status FROM messages") == [("Hel", "streaming")]
    before = answer.snapshots
    for _ in range(1000):  # a thousand deltas between two turns of the event loop
        answer.append(".")
    await settle(writer)
    assert answer.snapshots - before == 1
    assert rows(db_path, "SELECT content FROM messages")[0][0] == "Hel" + "." * 1000
    answer.call("call_1", "bash", '{"command": "ls"}')
    answer.end("complete")
    writer.finish(ref)
    await settle(writer)
    assert rows(db_path, "SELECT kind, status, parent_id FROM messages ORDER BY id") == [
        ("assistant", "complete", None),
        ("tool_call", "complete", ref.id),
    ]
    owners = rows(db_path, "SELECT count(*) FROM stream_owners")[0][0]
    assert owners == 0
    assert await writer.close(1.0)


async def test_between_flushes_nothing_is_written(db: Database, db_path: Path) -> None:
    writer = StorageWriter(db, flush_interval=3600)
    conversation = writer.conversation()
    answer = GrowingText()
    answer.append("first")
    ref = writer.stream(conversation, answer)
    await settle(writer)
    for word in (" second", " third"):
        answer.append(word)
        await asyncio.sleep(0.05)
    assert rows(db_path, "SELECT content FROM messages")[0][0] == "first"
    answer.end("interrupted")
    writer.finish(ref)
    await settle(writer)
    assert rows(db_path, "SELECT content, status FROM messages")[0] == (
        "first second third",
        "interrupted",
    )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock (``BEGIN EXCLUSIVE``) until the block ends."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_a_locked_database_is_reported_once_and_written_after(db_path: Path) -> None:
    db = await Database.open(db_path, busy_timeout_ms=50)
    seen = Problems()
    writer = StorageWriter(db, on_problem=seen.problem, on_recovered=seen.recover)
    conversation = writer.conversation()
    await settle(writer)
    with locked(db_path):
        prompt = writer.message(conversation, "user", "while locked")
        answer = GrowingText()
        ref = writer.stream(conversation, answer, parent=prompt)
        for number in range(50):
            answer.append(f"{number} ")
            await asyncio.sleep(0.02)
        assert not await writer.wait(prompt, stop_on_problem=True)
        assert prompt.id is None and not prompt.dropped
        assert len(seen.problems) == 1  # one warning for the whole episode
        assert isinstance(seen.problems[0], DatabaseBusyError)
        assert writer.state.problem is not None
    answer.end()
    writer.finish(ref)
    await settle(writer)
    assert seen.recovered == 1 and writer.state.problem is None
    stored = rows(db_path, "SELECT kind, content, status FROM messages ORDER BY id")
    assert stored == [
        ("user", "while locked", "complete"),
        ("assistant", "".join(f"{n} " for n in range(50)), "complete"),
    ]
    assert await writer.close(1.0)
    await db.close()


async def test_close_gives_up_after_its_grace_and_says_so(db_path: Path) -> None:
    db = await Database.open(db_path, busy_timeout_ms=50)
    writer = StorageWriter(db)
    conversation = writer.conversation()
    await settle(writer)
    with locked(db_path):
        prompt = writer.message(conversation, "user", "never stored")
        assert not await writer.close(0.3)
        assert prompt.dropped and writer.state.dropped_rows == 1
    await db.close()
    assert rows(db_path, "SELECT count(*) FROM messages") == [(0,)]


async def test_a_full_disk_keeps_what_is_stored_and_saves_the_rest_later(
    small_disk: Path,
) -> None:
    path = small_disk / "ikigai.db"
    db = await Database.open(path)
    seen = Problems()
    writer = StorageWriter(db, on_problem=seen.problem, on_recovered=seen.recover)
    conversation = writer.conversation()
    writer.message(conversation, "user", "stored before the disk filled")
    await settle(writer)
    filler = fill(small_disk)
    answer = GrowingText()
    ref = writer.stream(conversation, answer)
    big = "x" * 4096
    for _ in range(50):  # 200 KB that cannot fit
        answer.append(big)
    answer.end()
    writer.finish(ref)
    async with asyncio.timeout(10):
        await seen.reported.wait()
    assert isinstance(seen.problems[0], DiskFullError)
    assert "full" in str(seen.problems[0])
    filler.unlink()
    await settle(writer, 30)
    assert seen.recovered == 1
    assert await writer.close(5.0)
    await db.close()
    stored = rows(path, "SELECT kind, length(content), status FROM messages ORDER BY id")
    assert stored == [("user", 29, "complete"), ("assistant", 50 * 4096, "complete")]
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]


async def test_a_tool_call_whose_commit_failed_on_a_full_disk_is_written_later(
    small_disk: Path,
) -> None:
    path = small_disk / "ikigai.db"
    db = await Database.open(path)
    seen = Problems()
    writer = StorageWriter(db, on_problem=seen.problem, on_recovered=seen.recover)
    conversation = writer.conversation()
    answer = GrowingText()
    ref = writer.stream(conversation, answer)
    answer.append("Let me look.")
    await settle(writer)
    filler = fill(small_disk)
    # Small rows fit SQLite's page cache: the inserts succeed and the commit fails.
    answer.call("call_1", "read_file", '{"path": "README.md"}')
    answer.end()
    writer.finish(ref)
    async with asyncio.timeout(10):
        await seen.reported.wait()
    assert isinstance(seen.problems[0], DiskFullError)
    filler.unlink()
    await settle(writer, 30)
    assert await writer.close(5.0)
    await db.close()
    stored = rows(path, "SELECT kind, content, status FROM messages ORDER BY id")
    assert stored == [
        ("assistant", "Let me look.", "complete"),
        ("tool_call", '{"path": "README.md"}', "complete"),
    ]


async def test_a_database_that_refuses_writes_stops_the_writer_and_keeps_what_is_stored(
    db: Database, db_path: Path
) -> None:
    seen = Problems()
    writer = StorageWriter(db, on_problem=seen.problem)
    conversation = writer.conversation()
    writer.message(conversation, "user", "kept")
    await settle(writer)
    # From here on SQLite refuses every write on this connection ("attempt to write a
    # readonly database"), as it does for a file it may no longer write.
    await db._conn.execute("PRAGMA query_only = 1")
    lost = writer.message(conversation, "user", "cannot be written")
    async with asyncio.timeout(10):
        assert not await writer.wait(lost)
    assert writer.state.failed and lost.dropped
    assert len(seen.problems) == 1 and "readonly" in str(seen.problems[0])
    later = writer.message(conversation, "user", "dropped at once")
    assert later.dropped
    assert not await writer.close(1.0)
    assert rows(db_path, "SELECT content FROM messages") == [("kept",)]


async def test_a_conversation_deleted_elsewhere_drops_only_its_rows(
    db: Database, db_path: Path
) -> None:
    seen = Problems()
    writer = StorageWriter(db, on_problem=seen.problem, flush_interval=0.0)
    doomed = writer.conversation()
    other = writer.conversation()
    answer = GrowingText()
    answer.append("streaming into a conversation that goes away")
    writer.stream(doomed, answer)
    await settle(writer)
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM conversations WHERE id = ?", (doomed.id,))
        conn.commit()
    answer.append(" — more")
    orphan = writer.message(doomed, "user", "too late")
    kept = writer.message(other, "user", "still stored")
    async with asyncio.timeout(10):
        assert not await writer.drain()  # something was given up on
    assert orphan.dropped and kept.id is not None
    assert not writer.state.failed
    assert rows(db_path, "SELECT content FROM messages") == [("still stored",)]
    assert seen.problems  # the user hears about it


@pytest.fixture
async def locked_db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(db_path, busy_timeout_ms=50)
    yield database
    await database.close()


async def test_waiting_for_a_row_can_be_bounded(locked_db: Database, db_path: Path) -> None:
    writer = StorageWriter(locked_db)
    conversation = writer.conversation()
    await settle(writer)
    with locked(db_path):
        prompt = writer.message(conversation, "user", "x")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await writer.wait(prompt)
    async with asyncio.timeout(10):
        assert await writer.wait(prompt)
    assert await writer.close(1.0)


async def test_an_impatient_wait_learns_of_a_lock_at_once_and_the_row_is_stored_later(
    db_path: Path,
) -> None:
    # A connection that would wait a minute for the lock: only impatience ends the wait.
    db = await Database.open(db_path, busy_timeout_ms=60_000)
    writer = StorageWriter(db)
    conversation = writer.conversation()
    await settle(writer)
    with locked(db_path):
        prompt = writer.message(conversation, "user", "sent before it is stored")
        async with asyncio.timeout(20):
            assert not await writer.wait(prompt, stop_on_problem=True, impatient=True)
        assert isinstance(writer.state.problem, DatabaseBusyError)
    async with asyncio.timeout(90):
        assert await writer.wait(prompt)
    assert rows(db_path, "SELECT content FROM messages") == [("sent before it is stored",)]
    assert await writer.close(1.0)
    await db.close()
