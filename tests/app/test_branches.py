"""Branches in the real app, driven from the keyboard against the loopback server.

Each test asserts the request the fake server received, what the scrollback
shows and what the database stored.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.widgets.message_views import AssistantMessage, Notice, UserMessage
from ikigai.tui.widgets.versions import VersionIndicator
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Fault, Reply, Text


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def sent(server: FakeServer, number: int = -1) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in server.requests[number].json["messages"]]


def shown(app: Any) -> list[str]:
    """The prompts and answers on screen, top to bottom."""
    return [
        w.copy_text
        for w in app.scrollback.children
        if isinstance(w, UserMessage | AssistantMessage)
    ]


def indicators(app: Any) -> list[tuple[str, str]]:
    """(message text, ``‹ i/n ›``) of each version line on screen."""
    return [
        (str(w.owner.copy_text), f"‹ {w.index}/{w.count} ›")
        for w in app.scrollback.children
        if isinstance(w, VersionIndicator)
    ]


def notices(app: Any) -> str:
    return "\n".join(n.copy_text for n in app.query(Notice))


async def send(pilot: Any, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def answered(pilot: Any, count: int) -> None:
    """Wait until ``count`` answers are on screen, the turn ended and its rows are stored."""
    app = pilot.app
    await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == count)
    assert await app.conversation.saved()
    await pilot.pause(0.1)


async def two_turns(pilot: Any, server: FakeServer) -> None:
    server.enqueue(Reply([Text("a1")]), Reply([Text("a2")]))
    await wait_for(pilot, pilot.app.ready.is_set)
    await send(pilot, "q1")
    await answered(pilot, 1)
    await send(pilot, "q2")
    await answered(pilot, 2)


async def test_edit_a_prompt_from_the_keyboard(app_env: Path, fake_server: FakeServer) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await two_turns(pilot, fake_server)
        app.prompt_input.set_text("a draft")
        await pilot.press("alt+up")
        assert app.scrollback.selected is app.scrollback.last_answer()
        await pilot.press("up")
        assert isinstance(app.scrollback.selected, UserMessage)
        await pilot.press("e")
        assert app.prompt_input.text == "q2"
        assert app.prompt_input.has_focus
        assert "editing message" in str(app.prompt_input.border_title)
        fake_server.enqueue(Reply([Text("a2 for the edit")]))
        await pilot.press("space", "x", "enter")
        await answered(pilot, 2)
        assert shown(app) == ["q1", "a1", "q2 x", "a2 for the edit"]
        await wait_for(pilot, lambda: bool(indicators(app)))
        assert indicators(app) == [("q2 x", "‹ 2/2 ›")]
        assert app.prompt_input.text == "a draft"  # what was typed before comes back
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 x")]
    db = app_env / "ikigai.db"
    a1 = rows(db, "SELECT id FROM messages WHERE content = 'a1'")[0][0]
    assert rows(db, "SELECT content FROM messages WHERE kind = 'user' AND parent_id = ?", a1) == [
        ("q2",),
        ("q2 x",),
    ]
    assert rows(db, "SELECT count(*) FROM messages WHERE content = 'a2'") == [(1,)]


async def test_regenerate_and_switch_versions_from_the_keyboard(
    app_env: Path, fake_server: FakeServer
) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await two_turns(pilot, fake_server)
        fake_server.enqueue(Reply([Text("a1 v2")]))
        await pilot.press("alt+up", "up", "up")
        assert app.scrollback.selected.copy_text == "a1"
        await pilot.press("r")
        await answered(pilot, 1)
        assert sent(fake_server) == [("user", "q1")]
        assert shown(app) == ["q1", "a1 v2"]
        await wait_for(pilot, lambda: bool(indicators(app)))
        assert indicators(app) == [("a1 v2", "‹ 2/2 ›")]
        # ← on the selected answer shows the first version, with the rest of its branch.
        await pilot.press("alt+up", "left")
        await wait_for(pilot, lambda: shown(app) == ["q1", "a1", "q2", "a2"])
        await wait_for(pilot, lambda: indicators(app) == [("a1", "‹ 1/2 ›")])
        assert app.scrollback.selected.copy_text == "a1"
        await pilot.press("escape")
        assert app.prompt_input.has_focus and app.scrollback.selected is None
        fake_server.enqueue(Reply([Text("a3")]))
        await send(pilot, "q3")
        await answered(pilot, 3)
        assert sent(fake_server)[-3:] == [("user", "q2"), ("assistant", "a2"), ("user", "q3")]
        # And → back to the second version.
        await pilot.press("alt+up", "up", "up", "up", "up")
        assert app.scrollback.selected.copy_text == "a1"
        await pilot.press("right")
        await wait_for(pilot, lambda: shown(app) == ["q1", "a1 v2"])
    db = app_env / "ikigai.db"
    q1 = rows(db, "SELECT id FROM messages WHERE content = 'q1'")[0][0]
    assert rows(db, "SELECT content FROM messages WHERE parent_id = ? ORDER BY id", q1) == [
        ("a1",),
        ("a1 v2",),
    ]
    assert rows(db, "SELECT count(*) FROM messages WHERE kind = 'user'") == [(3,)]
    leaf = rows(db, "SELECT leaf_id FROM conversations")[0][0]
    assert rows(db, "SELECT content FROM messages WHERE id = ?", leaf) == [("a1 v2",)]


async def test_branch_commands_and_regen_with_another_model(
    app_env: Path, fake_server: FakeServer
) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await two_turns(pilot, fake_server)
        fake_server.enqueue(Reply([Text("a2 by other")], model="other-model"))
        await send(pilot, "/regen openai-chat/other-model")
        await answered(pilot, 2)
        assert fake_server.requests[-1].json["model"] == "other-model"
        assert shown(app) == ["q1", "a1", "q2", "a2 by other"]
        assert app.conversation.run.model == "fake-model"
        await send(pilot, "/branch prev")
        await wait_for(pilot, lambda: shown(app) == ["q1", "a1", "q2", "a2"])
        await send(pilot, "/branch 2")
        await wait_for(pilot, lambda: shown(app) == ["q1", "a1", "q2", "a2 by other"])
        await send(pilot, "/branch next")
        await wait_for(pilot, lambda: "last version (2/2)" in notices(app))
        await send(pilot, "/edit 1")
        await wait_for(pilot, lambda: app.prompt_input.text == "q1")
        await pilot.press("escape")
        assert app.prompt_input.text == "" and app.branches.editing is None
        await send(pilot, "/edit 9")
        await wait_for(pilot, lambda: "prompts 1 to 2" in notices(app))
        fake_server.enqueue(Reply([Text("a2 again")]))
        await send(pilot, "/retry")
        await answered(pilot, 2)
        assert shown(app)[-1] == "a2 again"
        await wait_for(pilot, lambda: indicators(app) == [("a2 again", "‹ 3/3 ›")])
        await send(pilot, "/export json --all-branches tree.json")
        await send(pilot, "/export json path.json")
        await wait_for(pilot, lambda: notices(app).count("exported conversation") == 2)
    assert rows(app_env / "ikigai.db", "SELECT count(*) FROM messages WHERE kind = 'user'") == [
        (2,)
    ]
    tree = json.loads((app_env / "tree.json").read_text())
    path = json.loads((app_env / "path.json").read_text())
    assert [m["content"] for m in tree["messages"] if m["kind"] == "assistant"] == [
        "a1",
        "a2",
        "a2 by other",
        "a2 again",
    ]
    assert [m["content"] for m in path["messages"]] == ["q1", "a1", "q2", "a2 again"]


async def test_editing_while_a_turn_runs_is_refused_and_the_text_kept(
    app_env: Path, fake_server: FakeServer
) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await two_turns(pilot, fake_server)
        await pilot.press("alt+up", "up", "e")
        app.prompt_input.set_text("q2 edited")
        fake_server.enqueue(Reply([Text("slow")], fault=Fault("stall", after_events=2, seconds=30)))
        await send(pilot, "/retry")
        await wait_for(pilot, lambda: app.busy)
        app.prompt_input.set_text("q2 edited")
        await pilot.press("enter")
        assert app.prompt_input.text == "q2 edited"
        assert app.branches.editing is not None
        await pilot.press("alt+up")
        while not isinstance(app.scrollback.selected, UserMessage):
            await pilot.press("up")
        await pilot.press("e")
        await wait_for(pilot, lambda: "editing waits until it ends" in notices(app))
        assert app.prompt_input.text == "q2 edited"
        await pilot.press("escape")  # back to the input
        assert app.prompt_input.has_focus and app.busy
        await send(pilot, "/edit 1")
        await wait_for(pilot, lambda: "/edit: a turn is running" in notices(app))
        assert app.branches.editing is not None
        await pilot.press("escape")  # cancels the turn
        await wait_for(pilot, lambda: not app.busy)
    assert len(fake_server.requests) == 3
    assert rows(
        app_env / "ikigai.db", "SELECT count(*) FROM messages WHERE content LIKE 'q2%'"
    ) == [(1,)]


async def test_fork_continues_in_a_linked_copy(app_env: Path, fake_server: FakeServer) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await two_turns(pilot, fake_server)
        first = app.conversation.id
        await send(pilot, "/fork")
        await wait_for(pilot, lambda: app.conversation.id not in (None, first))
        assert f"forked conversation #{first} into #{app.conversation.id}" in notices(app)
        assert shown(app) == ["q1", "a1", "q2", "a2"]
        fake_server.enqueue(Reply([Text("a3")]))
        await send(pilot, "q3")
        await answered(pilot, 3)
        forked = app.conversation.id
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause(0.3)
        listing = str(app.screen.query_one("#picker-list").get_option_at_index(0).prompt)
        assert f"forked from #{first}" in listing
    assert sent(fake_server)[:4] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
    ]
    db = app_env / "ikigai.db"
    assert rows(db, "SELECT count(*) FROM messages WHERE conversation_id = ?", first) == [(4,)]
    assert rows(db, "SELECT count(*) FROM messages WHERE conversation_id = ?", forked) == [(6,)]


async def test_resume_and_search_open_the_right_branch(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Text("zebras are striped")]), Reply([Text("lions roar")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "an animal?")
        await answered(pilot, 1)
        await send(pilot, "/retry")
        await wait_for(pilot, lambda: shown(app) == ["an animal?", "lions roar"] and not app.busy)
        assert await app.conversation.saved()
        await pilot.press("ctrl+q")
    again = make_app(app_env, fake_server.base_url("openai-chat"), continue_last=True)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: shown(again) == ["an animal?", "lions roar"])
        await wait_for(pilot, lambda: indicators(again) == [("lions roar", "‹ 2/2 ›")])
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(again.screen, PickerScreen))
        await pilot.press(*"zebras")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(again) == ["an animal?", "zebras are striped"])
        await wait_for(pilot, lambda: indicators(again) == [("zebras are striped", "‹ 1/2 ›")])
        fake_server.enqueue(Reply([Text("more zebras")]))
        await send(pilot, "tell me more")
        await answered(pilot, 2)
    assert sent(fake_server)[-2:] == [("assistant", "zebras are striped"), ("user", "tell me more")]
