"""The app when storage fails: the screen never waits, the user is told once, nothing is lost.

A database another process holds locked (before and during the answer), a
path that is a directory or not a database, a disk that fills mid-answer (a
real small tmpfs), and a storage layer that raises mid-turn.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ikigai.storage.repository import Database
from ikigai.tui.widgets.message_views import Notice
from tests.app.conftest import make_app, wait_for
from tests.disks import fill
from tests.fakeserver import FakeServer, Fault, Reply, Text

ANSWER = "Every word reaches the screen while the database is unavailable. " * 6


def notices(app) -> list[str]:
    return [n.copy_text for n in app.query(Notice)]


async def send(pilot, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


def stored(db: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT kind, content, status FROM messages ORDER BY id").fetchall()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def make_database(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


async def test_a_database_locked_for_the_whole_answer_never_holds_the_screen(
    app_env: Path, fake_server: FakeServer
) -> None:
    db = app_env / "ikigai.db"
    await make_database(db)
    fake_server.enqueue(Reply([Text(ANSWER, chunk=16)]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        with locked(db):
            await send(pilot, "hello")
            await wait_for(
                pilot,
                lambda: not app.busy and app.scrollback.last_answer() is not None,
                what="the answer while the database is locked",
            )
            await pilot.pause(0.1)
            answer = app.scrollback.last_answer()
            assert answer is not None and answer.copy_text == ANSWER
            assert answer.status == "complete"
            await wait_for(
                pilot, lambda: any(n.startswith("not saved") for n in notices(app)), seconds=10
            )
            await pilot.pause(2.5)  # several more failed attempts: still one warning
            warnings = [n for n in notices(app) if n.startswith("not saved")]
            assert len(warnings) == 1 and "locked" in warnings[0]
            assert app.conversation.storage_problem is not None
            assert stored(db) == []
        await wait_for(pilot, lambda: app.conversation.storage_problem is None, seconds=20)
        assert any(n.startswith("saved again") for n in notices(app))
    assert stored(db) == [("user", "hello", "complete"), ("assistant", ANSWER, "complete")]


async def test_a_lock_taken_mid_answer_does_not_cut_the_stream(
    app_env: Path, fake_server: FakeServer
) -> None:
    db = app_env / "ikigai.db"
    fake_server.enqueue(Reply([Text(ANSWER, chunk=16)], fault=Fault("stall", 5, seconds=1.0)))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: app.scrollback.last_answer() is not None)
        with locked(db):
            await wait_for(pilot, lambda: not app.busy, what="the rest of the answer")
            answer = app.scrollback.last_answer()
            assert answer is not None and answer.copy_text == ANSWER
        await wait_for(pilot, lambda: app.conversation.storage_problem is None, seconds=20)
    rows = stored(db)
    assert rows[0] == ("user", "hello", "complete")
    assert rows[1] == ("assistant", ANSWER, "complete")


@pytest.mark.parametrize("broken", ["directory", "garbage"])
async def test_a_database_that_cannot_be_opened_leaves_the_app_usable(
    app_env: Path, fake_server: FakeServer, broken: str
) -> None:
    db = app_env / "ikigai.db"
    if broken == "directory":
        db.mkdir()
    else:
        db.write_bytes(b"this is not an SQLite database at all\n" * 200)
    before = db.read_bytes() if broken == "garbage" else b""
    fake_server.enqueue(Reply([Text("answered unsaved")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set, what="the app to be ready")
        assert any(n.startswith("storage unavailable") for n in notices(app))
        await send(pilot, "hello")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
        await pilot.pause(0.1)
        assert app.scrollback.last_answer().copy_text == "answered unsaved"
        await send(pilot, "/history")
        await wait_for(pilot, lambda: any("not stored" in n for n in notices(app)))
        await send(pilot, "/mark here")
        await wait_for(pilot, lambda: "here" in app.conversation.marks)
    if broken == "garbage":
        assert db.read_bytes() == before


async def test_a_database_locked_when_the_app_opens_it(
    app_env: Path, fake_server: FakeServer
) -> None:
    db = app_env / "ikigai.db"
    await make_database(db)
    fake_server.enqueue(Reply([Text("answer")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    with locked(db):
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, app.ready.is_set, what="the app to be ready")
            await send(pilot, "hello")
            await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
            await pilot.pause(0.1)
            assert app.scrollback.last_answer().copy_text == "answer"
            await wait_for(
                pilot, lambda: any(n.startswith("not saved") for n in notices(app)), seconds=10
            )
        assert app.unsaved_at_exit


async def test_a_disk_that_fills_mid_answer(
    app_env: Path, fake_server: FakeServer, small_disk: Path
) -> None:
    db = small_disk / "ikigai.db"
    big = "An answer larger than the room left on the disk. " * 2000
    fake_server.enqueue(Reply([Text(big, chunk=2000)], fault=Fault("stall", 3, seconds=1.0)))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    app.launch = replace(app.launch, db=str(db))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: app.scrollback.last_answer() is not None)
        filler = fill(small_disk)
        await wait_for(pilot, lambda: not app.busy, what="the whole answer")
        assert app.scrollback.last_answer().copy_text == big
        await wait_for(pilot, lambda: any("full" in n for n in notices(app)), seconds=20)
        filler.unlink()
        await wait_for(pilot, lambda: app.conversation.storage_problem is None, seconds=30)
    rows = stored(db)
    assert rows == [("user", "hello", "complete"), ("assistant", big, "complete")]


async def test_a_storage_layer_that_raises_mid_turn(
    app_env: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Database, *args: object, **kwargs: object) -> None:
        raise RuntimeError("storage bug")

    monkeypatch.setattr(Database, "update_stream", broken)
    fake_server.enqueue(Reply([Text(ANSWER, chunk=16)]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
        await pilot.pause(0.1)
        assert app.scrollback.last_answer().copy_text == ANSWER
        await wait_for(pilot, lambda: any("storage bug" in n for n in notices(app)))
        warnings = [n for n in notices(app) if n.startswith("not saved")]
        assert len(warnings) == 1
    rows = stored(app_env / "ikigai.db")
    assert rows[0] == ("user", "hello", "complete")
