"""The conversation picker: when each conversation was active, renaming, and deleting
(asked first; the open conversation gives way to a new one), through the real app
against the loopback server and a real SQLite file, at 80x24 and 120x40."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.dates import relative
from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.screens.picker_dialogs import ConfirmDelete, RenameScreen
from ikigai.tui.widgets.message_views import AssistantMessage, Notice, UserMessage
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("2026-03-10T14:59:30.000Z", "just now"),
        ("2026-03-10T15:00:20.000Z", "just now"),  # a clock slightly behind the database
        ("2026-03-10T14:35:00.000Z", "25 min ago"),
        ((NOW - timedelta(days=3)).isoformat(), "3 days ago"),
        ("2026-01-31T08:00:00.000Z", "2026-01-31"),
        ("not a date", ""),
    ],
)
def test_relative_dates(stored: str, shown: str) -> None:
    assert relative(stored, now=lambda: NOW) == shown


def test_relative_dates_within_today_and_yesterday() -> None:
    local_now = datetime(2026, 3, 10, 15, 0).astimezone()
    two_hours = (local_now - timedelta(hours=2)).astimezone(UTC).isoformat()
    assert relative(two_hours, now=lambda: local_now) == "2 h ago"
    last_evening = local_now.replace(hour=0, minute=0) - timedelta(hours=2)
    assert relative(last_evening.isoformat(), now=lambda: local_now) == "yesterday"


def db_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def send(pilot: Any, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


def back_in_picker(app: Any) -> bool:
    return isinstance(app.screen, PickerScreen)


def listed(app: Any) -> list[str]:
    listing = app.screen.query_one("#picker-list")
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


async def open_picker(pilot: Any) -> None:
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PickerScreen))
    await wait_for(pilot, lambda: bool(listed(pilot.app)), what="the list")


@SIZES
async def test_the_picker_shows_dates_renames_and_deletes(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(
        Reply([Text("Zebras are striped.")]),
        Reply([Text("Lions roar.")]),
        Reply([Text("Owls hoot.")]),
    )
    db = app_env / "ikigai.db"
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "tell me about zebras")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 2)
        zebras = app.conversation.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.conversation.id is None)
        await send(pilot, "and lions?")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 2)
        lions = app.conversation.id
        await open_picker(pilot)
        rows = listed(app)
        assert rows[0].startswith(f"#{lions} and lions? (open)")
        assert all("just now" in row for row in rows)

        # F2: a new title for the highlighted (open) conversation.
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        app.screen.query_one("#rename-title").value = "Big \x1b[2Jcats"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await wait_for(pilot, lambda: listed(app)[0].startswith(f"#{lions} Big \\x1b[2Jcats"))
        assert db_rows(db, f"SELECT title FROM conversations WHERE id = {lions}") == [
            ("Big \x1b[2Jcats",)
        ]

        # Ctrl+D asks first; n keeps it.
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        assert app.screen.current
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert db_rows(db, f"SELECT count(*) FROM conversations WHERE id = {lions}") == [(1,)]

        # y deletes the open conversation: a new one takes its place.
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("y")
        await wait_for(pilot, lambda: back_in_picker(app) and len(listed(app)) == 1)
        assert listed(app)[0].startswith(f"#{zebras} tell me about zebras")
        assert app.conversation.id is None
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PickerScreen))
        assert not app.query(UserMessage)
        assert any(f"deleted conversation #{lions}" in n.copy_text for n in app.query(Notice))
        # The app goes on: the next prompt is stored in a conversation of its own.
        await send(pilot, "owls?")
        await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == 1)
        owls = app.conversation.id
        assert owls not in (None, zebras)
        assert app.conversation.storage_problem is None
        # (SQLite may give the new conversation the deleted one's id: nothing of it is left.)
        assert db_rows(db, f"SELECT content FROM messages WHERE conversation_id = {owls}") == [
            ("owls?",),
            ("Owls hoot.",),
        ]

        # Deleting another conversation leaves the open one alone.
        await open_picker(pilot)
        await pilot.press("down", "down")
        assert app.screen.highlighted_conversation() == zebras
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        assert not app.screen.current
        await pilot.press("y")
        await wait_for(pilot, lambda: back_in_picker(app) and len(listed(app)) == 1)
        assert app.conversation.id == owls
        await pilot.press("escape")
    assert db_rows(db, "SELECT id FROM conversations") == [(owls,)]
    kept = db_rows(db, "SELECT DISTINCT conversation_id FROM messages")
    assert kept == [(owls,)]
