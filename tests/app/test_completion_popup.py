"""Tab completion in a dropdown under the input, never in the transcript; the
provider's model list fetched once, in the background. The real app against the
loopback server, at 80x24 and 120x40."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.screens.copy import copy_choices
from ikigai.tui.widgets.completion_popup import CompletionPopup
from ikigai.tui.widgets.message_views import Notice
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text
from tests.fakeserver.models import openai_models

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


def popup(app: Any) -> CompletionPopup:
    return app.query_one("#completions", CompletionPopup)


def transcript(app: Any) -> list[str]:
    return [n.copy_text for n in app.query(Notice)]


@SIZES
async def test_tab_lists_candidates_in_the_dropdown_and_enter_takes_one(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        before = transcript(app)
        app.prompt_input.set_text("/m")
        await pilot.press("tab")
        await wait_for(pilot, lambda: popup(app).is_open)
        assert popup(app).candidates == ["/mark", "/mcp", "/model"]
        assert popup(app).region.y > app.prompt_input.region.y  # under the input
        assert app.focused is app.prompt_input
        assert popup(app).chosen() == "/mark"
        await pilot.press("tab", "tab")
        assert popup(app).chosen() == "/model"
        await pilot.press("tab")  # wraps around
        assert popup(app).chosen() == "/mark"
        await pilot.press("shift+tab")
        assert popup(app).chosen() == "/model"
        await pilot.press("enter")
        assert app.prompt_input.text == "/model "
        assert not popup(app).is_open
        # Enter took the candidate: nothing was sent, nothing written into the transcript.
        assert transcript(app) == before
        await pilot.press("o")
        assert app.prompt_input.text == "/model o"
        await pilot.press("tab")
        assert app.prompt_input.text == "/model openai"
        await wait_for(pilot, lambda: popup(app).is_open)
        assert all(c.startswith("openai") for c in popup(app).candidates)
        # Typing closes the list and goes on in the input.
        await pilot.press("-")
        assert not popup(app).is_open and app.prompt_input.text == "/model openai-"
        # Esc closes it and leaves the text alone.
        app.prompt_input.set_text("/re")
        await pilot.press("tab")
        await wait_for(pilot, lambda: popup(app).is_open)
        await pilot.press("escape")
        assert not popup(app).is_open and app.prompt_input.text == "/re"
        # A click on a candidate takes it.
        await pilot.press("tab")
        await wait_for(pilot, lambda: popup(app).is_open)
        assert popup(app).candidates[:2] == ["/regen", "/retry"]
        await pilot.click(CompletionPopup, offset=(3, 2))
        await wait_for(pilot, lambda: not popup(app).is_open)
        assert app.prompt_input.text == "/retry "
        assert app.focused is app.prompt_input
        assert transcript(app) == before
        assert not [c for c in copy_choices(app.scrollback.messages()) if "/regen" in c[1]]


@SIZES
async def test_the_dropdown_never_keeps_keys_from_the_input_or_a_running_turn(
    app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(Reply([Text("slow " * 60)], event_delay=0.05), Reply([Text("ok")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("hi")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy and len(fake_server.requests) == 1)
        # Up walks the history and Enter sends while no list is open.
        app.prompt_input.set_text("/th")
        await pilot.press("tab")
        assert app.prompt_input.text == "/thinking " and not popup(app).is_open
        await pilot.press("tab")
        await wait_for(pilot, lambda: popup(app).is_open)
        # Esc with the list open closes the list; the turn goes on.
        await pilot.press("escape")
        assert not popup(app).is_open and app.busy
        # Esc again is the app's: the turn is cancelled.
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)
        app.prompt_input.set_text("")
        await pilot.press("up")
        assert app.prompt_input.text == "hi"


async def test_the_model_list_is_fetched_once_in_the_background(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(openai_models("qwen3:8b", "llama3.2:latest"))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("/model openai-chat/")
        await pilot.press("tab")
        # The list arrives meanwhile and the open dropdown shows it.
        await wait_for(
            pilot,
            lambda: "openai-chat/qwen3:8b" in popup(app).candidates,
            what="the server's models",
        )
        assert "openai-chat/llama3.2:latest" in popup(app).candidates
        await pilot.press("escape")
        app.prompt_input.set_text("/model openai-chat/q")
        await pilot.press("tab")
        assert app.prompt_input.text == "/model openai-chat/qwen3:8b "
        app.prompt_input.set_text("/model openai-chat/")
        await pilot.press("tab")
        await pilot.pause(0.2)
    listed = [r for r in fake_server.requests if r.method == "GET"]
    assert [r.path for r in listed] == ["/v1/models"]
