"""A new user's first hour in the app, through the real path (pilot, loopback server,
a real SQLite file), at 80x24 and 120x40: a resumed conversation's numbers, one
notice per interruption, and the hint after a stream cut halfway."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.widgets.message_views import AssistantMessage, ErrorBlock, Notice
from tests.app.conftest import CONFIG, make_app, wait_for
from tests.fakeserver import FakeServer, Fault, Reply, Text, ToolCall

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
PRICES = '[models."fake-model"]\ninput_cost = 1.0\noutput_cost = 2.0\n'


def configure(app_env: Path, extra: str) -> None:
    (app_env / "config.toml").write_text(CONFIG + extra, encoding="utf-8")


def notices(app: Any) -> list[str]:
    return [n.copy_text for n in app.query(Notice)]


def status_text(app: Any) -> str:
    return str(app.query_one("#status").render())


async def send(pilot: Any, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def answered_conversation(app_env: Path, fake_server: FakeServer) -> int:
    """One stored conversation of two answers with usage and a known price."""
    fake_server.enqueue(
        Reply([Text("First.")], usage={"input_tokens": 1_000, "output_tokens": 100}),
        Reply([Text("Second.")], usage={"input_tokens": 2_000, "output_tokens": 300}),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        for number, prompt in enumerate(("one", "two"), start=1):
            await send(pilot, prompt)
            await wait_for(
                pilot,
                lambda n=number: not app.busy and len(app.query(AssistantMessage)) == n,
            )
        conversation = app.conversation.id
        await pilot.press("ctrl+q")
    assert conversation is not None
    return conversation


# 1000+100+2000+300 tokens; (1000+2000)/1e6 * $1 + (100+300)/1e6 * $2
TOTAL, COST = 3_400, 0.0038


def assert_numbers(app: Any, size: tuple[int, int]) -> None:
    info = app.status_info
    assert info.last_tokens == (2_000, 300) and info.total_tokens == TOTAL
    assert info.cost_usd is not None and round(info.cost_usd, 6) == COST
    shown = status_text(app)
    if size[0] >= 120:
        assert "last 2000↑ 300↓" in shown and f"conv {TOTAL} tok" in shown
        assert f"${COST:.4f}" in shown
    else:
        assert "2000↑300↓" in shown and f"Σ{TOTAL}" in shown and "$0.00" in shown


@SIZES
async def test_conversation_flag_shows_the_stored_totals_and_cost(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    configure(app_env, PRICES)
    conversation = await answered_conversation(app_env, fake_server)
    again = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation)
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: again.status_info.total_tokens == TOTAL, what="totals")
        assert_numbers(again, size)


@SIZES
async def test_on_start_resume_shows_the_stored_totals_and_cost(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    configure(app_env, PRICES + '[ui]\non_start = "resume"\n')
    await answered_conversation(app_env, fake_server)
    again = make_app(app_env, fake_server.base_url("openai-chat"))
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: again.status_info.total_tokens == TOTAL, what="totals")
        assert_numbers(again, size)


@SIZES
async def test_the_picker_opens_a_conversation_with_its_totals_and_cost(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    configure(app_env, PRICES)
    conversation = await answered_conversation(app_env, fake_server)
    again = make_app(app_env, fake_server.base_url("openai-chat"))
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, again.ready.is_set)
        assert again.status_info.total_tokens == 0
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(again.screen, PickerScreen))
        await pilot.pause(0.2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: again.conversation.id == conversation)
        await wait_for(pilot, lambda: again.status_info.total_tokens == TOTAL, what="totals")
        assert_numbers(again, size)
        # A new conversation starts from zero again.
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: again.status_info.total_tokens == 0, what="reset")
        assert again.status_info.cost_usd is None


def interruption_notices(app: Any) -> list[str]:
    """Everything on screen that says the turn was interrupted: notes, answer labels,
    the spinner line."""
    said = [text for text in notices(app) if "interrupted" in text]
    said += ["label" for _ in app.query(".interrupted-label")]
    spinner = str(app.spinner.render())
    return said + ([spinner] if "interrupted" in spinner else [])


@SIZES
async def test_escape_mid_answer_says_interrupted_once(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(
        Reply([Text("partial answer that will stall", chunk=4)], fault=Fault("stall", 4, 30))
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "go")
        await wait_for(
            pilot, lambda: len(getattr(app.scrollback.last_answer(), "copy_text", "")) >= 8
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)
        await pilot.pause(0.2)
        assert app.scrollback.last_answer().status == "interrupted"
        assert interruption_notices(app) == ["label"]


@SIZES
async def test_escape_during_a_tool_claims_no_partial_answer(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    configure(app_env, '[tools]\nbash = "allow"\n')
    fake_server.enqueue(Reply([ToolCall("bash", {"command": "sleep 30"}, id="call_1")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "wait a while")
        await wait_for(pilot, lambda: app.spinner.state == "running a tool", what="the tool")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)
        await pilot.pause(0.2)
        said = interruption_notices(app)
        assert said == ["⏹ interrupted while a tool ran (the tool was stopped; no answer followed)"]
        assert not any("partial answer" in text for text in notices(app))
        conversation = app.conversation.id
        await pilot.press("ctrl+q")
    # Resumed, the stored interruption says the same, once.
    again = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation)
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: any("resumed" in t for t in notices(again)))
        said = interruption_notices(again)
        assert said == ["⏹ interrupted while a tool ran (no answer followed)"]


@SIZES
async def test_escape_before_any_answer_and_the_spinner_line_stays_behind(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(
        Reply([Text("never seen")], fault=Fault("stall", 0, 30)),
        Reply(status=400, body={"error": {"message": "bad request", "type": "invalid"}}),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "go")
        await wait_for(pilot, lambda: len(fake_server.requests) == 1)
        await pilot.pause(0.2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)
        await pilot.pause(0.2)
        assert interruption_notices(app) == ["⏹ interrupted before the model answered"]
        first = app.conversation.id
        # A failed turn leaves a line in the spinner ...
        await send(pilot, "again")
        await wait_for(pilot, lambda: not app.busy and bool(app.query(ErrorBlock)))
        await wait_for(pilot, lambda: "failed" in str(app.spinner.render()))
        # ... which a new conversation does not inherit,
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.conversation.id is None)
        assert str(app.spinner.render()) == ""
        # nor does one opened from the picker.
        app.spinner.stop("✗ the request failed")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause(0.2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation.id == first)
        await wait_for(pilot, lambda: any("resumed" in t for t in notices(app)))
        assert str(app.spinner.render()) == ""
        # The empty answer it stored is shown as what it is, once.
        assert interruption_notices(app) == ["⏹ interrupted before the model answered"]
    with sqlite3.connect(app_env / "ikigai.db") as conn:
        stored = conn.execute("SELECT kind, status, content FROM messages ORDER BY id").fetchall()
    assert stored[:2] == [("user", "complete", "go"), ("assistant", "interrupted", "")]


@SIZES
async def test_a_stream_cut_halfway_says_the_partial_answer_is_kept(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(
        Reply([Text("The first half of the answer, then", chunk=4)], fault=Fault("reset", 6)),
        Reply(status=404, body={"error": {"message": "no such model", "type": "invalid"}}),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "go")
        await wait_for(pilot, lambda: not app.busy and bool(app.query(ErrorBlock)))
        block = app.query_one(ErrorBlock)
        assert block.category == "network"
        assert "Could not reach" not in block.copy_text
        assert "the partial answer above is kept" in block.copy_text
        assert app.scrollback.last_answer().copy_text.startswith("The first")
        # An error with no answer before it keeps the usual advice.
        await send(pilot, "again")
        await wait_for(pilot, lambda: len(app.query(ErrorBlock)) == 2)
        assert "partial" not in app.query(ErrorBlock).last().copy_text
        conversation = app.conversation.id
        await pilot.press("ctrl+q")
    again = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation)
    async with again.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(again.query(ErrorBlock)) == 2)
        first, second = again.query(ErrorBlock)
        assert "Could not reach" not in first.copy_text
        assert "the partial answer above is kept" in first.copy_text
        assert "partial" not in second.copy_text


@SIZES
async def test_a_long_tool_output_expands_by_key_and_by_click(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    from ikigai.tui.widgets.message_views import ToolCallView

    configure(app_env, '[tools]\nfile_read = "allow"\n')
    (app_env / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 31)))
    fake_server.enqueue(
        Reply([ToolCall("file_read", {"path": "long.txt"}, id="call_1")]),
        Reply([Text("Thirty lines.")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "read long.txt")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
        view = app.query_one(ToolCallView)
        result = view.query_one(".tool-result")
        assert "more lines" in str(result.render()) and not view.expanded
        # From the input: Alt+Up selects the last message, Up the tool call, Enter expands.
        assert app.focused is app.prompt_input
        await pilot.press("alt+up", "up")
        assert app.scrollback.selected is view
        await pilot.press("enter")
        assert view.expanded and "line 30" in str(result.render())
        await pilot.press("enter")
        assert not view.expanded
        await pilot.press("escape")
        assert app.focused is app.prompt_input
        # The mouse: one click on the call.
        view.scroll_visible(animate=False)
        await pilot.pause(0.1)
        await pilot.click(ToolCallView)
        assert view.expanded and "line 30" in str(result.render())


async def test_a_first_start_without_a_prompt_stores_no_conversation(
    app_env: Path, fake_server: FakeServer
) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await pilot.press("ctrl+n")  # a new conversation, still nothing typed
        await wait_for(pilot, app.ready.is_set)
        await pilot.press("ctrl+q")
    db = app_env / "ikigai.db"
    stored = (
        sqlite3.connect(db).execute("SELECT count(*) FROM conversations").fetchone()[0]
        if db.exists()
        else 0
    )
    assert stored == 0, "an empty (untitled) conversation was left in history"
    assert not fake_server.requests
