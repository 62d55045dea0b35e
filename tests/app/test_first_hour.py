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
        for prompt in ("one", "two"):
            answers = len(app.query(AssistantMessage))
            await send(pilot, prompt)
            await wait_for(
                pilot, lambda: not app.busy and len(app.query(AssistantMessage)) > answers
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
