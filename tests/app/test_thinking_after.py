"""Thinking stays reachable after the stream and after a resume (a marker on the
answer, a click or ``t`` opens it), and ``/thinking off`` turns it off; through the
real app against the loopback server, at 80x24 and 120x40."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.screens.thinking import ThinkingScreen
from ikigai.tui.widgets.message_views import AssistantMessage, Notice, ToolCallView
from ikigai.tui.widgets.thinking_marker import ThinkingMarker
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text, Thinking, ToolCall

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
THOUGHT = "First I weigh the \x1b[31moptions\x1b[0m, then I pick one."


async def send(pilot: Any, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


def shown_thinking(app: Any) -> str:
    assert isinstance(app.screen, ThinkingScreen)
    return str(app.screen.query_one("#thinking-text").render())


async def close(pilot: Any) -> None:
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ThinkingScreen))


def marked(app: Any) -> list[tuple[str, str]]:
    """Each marker and the kind of widget right below it."""
    children = list(app.scrollback.children)
    return [
        (child.thinking, type(children[i + 1]).__name__)
        for i, child in enumerate(children)
        if isinstance(child, ThinkingMarker)
    ]


@SIZES
async def test_a_thinking_answer_is_marked_and_opens_by_click_and_key(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(
        Reply([Thinking(THOUGHT), Text("Option two.")]), Reply([Text("No thinking here.")])
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "which option?")
        await wait_for(pilot, lambda: not app.busy and bool(app.query(ThinkingMarker)))
        await send(pilot, "and now?")
        await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == 2)
        await pilot.pause(0.2)
        # One marker, right above the answer that thought; none on the other.
        assert marked(app) == [(THOUGHT, "AssistantMessage")]
        marker = app.query_one(ThinkingMarker)
        assert "✻ thinking · 9 words" in str(marker.render())
        await pilot.click(ThinkingMarker)
        await wait_for(pilot, lambda: isinstance(app.screen, ThinkingScreen))
        # Neutralized: the escape is shown as text, never sent to the terminal.
        assert shown_thinking(app) == THOUGHT.replace("\x1b", "\\x1b")
        await close(pilot)
        # From the keyboard: select the first answer, t.
        await pilot.press("alt+up", "up", "up")
        assert app.scrollback.selected is app.query(AssistantMessage).first()
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ThinkingScreen))
        assert "weigh the" in shown_thinking(app)
        await close(pilot)
        # The answer without thinking says so.
        await pilot.press("down", "down", "t")
        assert app.scrollback.selected is app.query(AssistantMessage).last()
        await wait_for(
            pilot, lambda: any("had no thinking" in n.copy_text for n in app.query(Notice))
        )
        assert not isinstance(app.screen, ThinkingScreen)
        conversation = app.conversation.id
        await pilot.press("ctrl+q")
    # Resumed: the stored thinking is marked and opens the same way.
    again = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation)
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(again.query(AssistantMessage)) == 2)
        assert marked(again) == [(THOUGHT, "AssistantMessage")]
        await pilot.press("alt+up", "up", "up", "t")
        await wait_for(pilot, lambda: isinstance(again.screen, ThinkingScreen))
        assert shown_thinking(again) == THOUGHT.replace("\x1b", "\\x1b")
        await close(pilot)
        await pilot.click(ThinkingMarker)
        await wait_for(pilot, lambda: isinstance(again.screen, ThinkingScreen))


@SIZES
async def test_thinking_before_a_tool_call_is_marked_above_the_call(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    (app_env / "notes.txt").write_text("remember the milk\n", encoding="utf-8")
    (app_env / "config.toml").write_text(
        (app_env / "config.toml").read_text() + '[tools]\nfile_read = "allow"\n'
    )
    fake_server.enqueue(
        Reply([Thinking("I should read the notes."), ToolCall("file_read", {"path": "notes.txt"})]),
        Reply([Text("It says: remember the milk.")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "what do my notes say?")
        await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == 1)
        await pilot.pause(0.2)
        assert marked(app) == [("I should read the notes.", "ToolCallView")]
        # The selection stops on the tool call; t opens the thinking of its response.
        await pilot.press("alt+up", "up")
        assert isinstance(app.scrollback.selected, ToolCallView)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ThinkingScreen))
        assert shown_thinking(app) == "I should read the notes."
        conversation = app.conversation.id
    again = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation)
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(again.query(AssistantMessage)) == 1)
        assert marked(again) == [("I should read the notes.", "ToolCallView")]


@SIZES
async def test_thinking_off_turns_a_profile_level_off(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(Reply([Text("with")]), Reply([Text("without")]), Reply([Text("still")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"), model=None, profile="other")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        assert app.conversation.run.thinking == "high"
        await send(pilot, "one")
        await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == 1)
        app.prompt_input.set_text("/thinking o")
        await pilot.press("tab")
        assert app.prompt_input.text == "/thinking off "
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation.run.thinking is None)
        status = str(app.query_one("#status").render())
        assert ("thinking off" if size[0] >= 120 else "no think") in status
        await send(pilot, "two")
        await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == 2)
        # A model switch keeps it off (not the profile's level).
        await send(pilot, "/model openai-chat/fake-model")
        await wait_for(pilot, lambda: app.conversation.run.model == "fake-model")
        assert app.conversation.run.thinking is None
        await send(pilot, "three")
        await wait_for(pilot, lambda: not app.busy and len(app.query(AssistantMessage)) == 3)
    with sqlite3.connect(app_env / "ikigai.db") as conn:
        levels = conn.execute(
            "SELECT json_extract(data, '$.thinking_level') FROM messages "
            "WHERE kind = 'assistant' ORDER BY id"
        ).fetchall()
    assert levels == [("high",), (None,), (None,)]
