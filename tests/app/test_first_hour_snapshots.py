"""Snapshots of the first-hour pieces at 80x24: the completion dropdown, an answer's
thinking marker and its modal, the delete confirmation in the picker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.screens.picker_dialogs import ConfirmDelete
from ikigai.tui.screens.thinking import ThinkingScreen
from ikigai.tui.widgets.thinking_marker import ThinkingMarker
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text, Thinking


async def _answer(pilot: Any, prompt: str) -> None:
    app = pilot.app
    await wait_for(pilot, app.ready.is_set)
    app.prompt_input.set_text(prompt)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
    await pilot.pause(0.2)


def test_completion_dropdown(snap_compare, app_env: Path) -> None:
    app = make_app(app_env)

    async def dropdown(pilot: Any) -> None:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("/m")
        await pilot.press("tab", "tab")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=dropdown)


def test_thinking_marker_and_modal(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(
        Reply([Thinking("Two and two: four. Say it plainly."), Text("It is **4**.")])
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def opened(pilot: Any) -> None:
        await _answer(pilot, "What is 2 + 2?")
        await wait_for(pilot, lambda: bool(app.query(ThinkingMarker)))
        await pilot.click(ThinkingMarker)
        await wait_for(pilot, lambda: isinstance(app.screen, ThinkingScreen))
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=opened)


def test_picker_delete_confirmation(snap_compare, app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("Zebras are striped.")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def confirm(pilot: Any) -> None:
        await _answer(pilot, "Tell me about zebras")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause(0.3)
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=confirm)
