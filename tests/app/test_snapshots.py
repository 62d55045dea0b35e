"""Snapshot tests of the real app (pytest-textual-snapshot).

Deterministic by construction: a fresh database per test (conversation #1), a
frozen spinner clock with no animation, no cursor blink, no timestamps or
paths on screen, and mid-stream states held by a fake-server stall.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.widgets.message_views import ErrorBlock
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Fault, Reply, Text, Thinking, http_error

ANSWER = (
    "## Plan\n\nHere is what I would do:\n\n1. Read the file\n2. Fix the **bug**\n\n"
    "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n\nDone."
)


async def _send(pilot: Any, text: str) -> None:
    await wait_for(pilot, pilot.app.ready.is_set)
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def _answered(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
    await pilot.pause(0.2)


def test_first_run_without_keys(snap_compare, app_env: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    app = make_app(app_env)

    async def ready(pilot: Any) -> None:
        await wait_for(pilot, app.ready.is_set)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_answer_mid_stream(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(
        Reply([Text(ANSWER, chunk=8)], fault=Fault("stall", after_events=12, seconds=30))
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def streaming(pilot: Any) -> None:
        await _send(pilot, "How do I fix it?")
        # 12 SSE events: the role chunk, then 11 deltas of 8 characters.
        await wait_for(
            pilot,
            lambda: (
                app.scrollback.last_answer() is not None
                and len(app.scrollback.last_answer().copy_text) >= 80
            ),
        )
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=streaming)


def test_thinking_pane_with_thinking(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(
        Reply(
            [
                Thinking("The user wants a sum. Adding two numbers is simple: 2 + 2 = 4."),
                Text("It is **4**."),
            ]
        )
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def answered(pilot: Any) -> None:
        await _send(pilot, "What is 2 + 2?")
        await _answered(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=answered)


def test_error_block(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(http_error(401))
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def failed(pilot: Any) -> None:
        await _send(pilot, "hello")
        await wait_for(pilot, lambda: bool(app.query(ErrorBlock)) and not app.busy)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=failed)


def test_help_screen(snap_compare, app_env: Path) -> None:
    app = make_app(app_env)
    assert snap_compare(app, terminal_size=(100, 40), press=["f1"])


def test_conversation_picker(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("Zebras are striped.")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def picker(pilot: Any) -> None:
        await _send(pilot, "Tell me about zebras")
        await _answered(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        # The list is filled by a worker: on a loaded machine 0.3 s alone may not do.
        await wait_for(pilot, lambda: app.screen.query_one("#picker-list").option_count > 0)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=picker)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_wide_terminal_answer(
    snap_compare, app_env: Path, fake_server: FakeServer, theme: str
) -> None:
    fake_server.enqueue(Reply([Thinking("Plan the fix."), Text(ANSWER)]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    app.theme_name = theme

    async def answered(pilot: Any) -> None:
        await _send(pilot, "How do I fix it?")
        await _answered(pilot)

    assert snap_compare(app, terminal_size=(200, 60), run_before=answered)


def test_light_theme_small(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text(ANSWER)]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    app.theme_name = "textual-light"

    async def answered(pilot: Any) -> None:
        await _send(pilot, "How do I fix it?")
        await _answered(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=answered)
