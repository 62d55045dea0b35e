"""The thinking pane takes no room until there is thinking (pilot at 120x40 and 80x24)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._footer import FooterKey

from ikigai.tui.app import IkigaiApp
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text, Thinking


async def _ask(pilot: object, app: IkigaiApp, text: str) -> None:
    app.prompt_input.set_text(text)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: app.turn_worker is not None and not app.busy)
    await pilot.pause(0.1)  # type: ignore[attr-defined]


async def test_wide_screen_shows_the_pane_only_for_answers_with_thinking(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply([Text("A plain answer without any reasoning. " * 4)]),
        Reply([Thinking("Let me work it out."), Text("Reasoned answer.")]),
        Reply([Text("Plain again.")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        pane = app.thinking_pane
        assert not pane.display
        await _ask(pilot, app, "no thinking")
        assert not pane.display
        assert app.scrollback.outer_size.width == 120  # the answer has the whole width
        await _ask(pilot, app, "think")
        assert pane.display
        assert app.query_one("#thinking-view").text == "Let me work it out."
        assert app.scrollback.outer_size.width < 120
        await _ask(pilot, app, "no thinking again")
        assert not pane.display
        assert app.scrollback.outer_size.width == 120


async def test_narrow_screen_keeps_the_width_unless_asked(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Thinking("Hidden reasoning."), Text("Answer.")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await _ask(pilot, app, "think")
        pane = app.thinking_pane
        assert not pane.display
        assert app.scrollback.outer_size.width == 80
        await pilot.press("ctrl+t")  # the user asks
        await pilot.pause()
        assert pane.display
        assert app.query_one("#thinking-view").text == "Hidden reasoning."
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not pane.display and pane.mode == "hidden"


async def test_ctrl_t_pins_the_pane_hidden_on_a_wide_screen(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Thinking("Reasoning."), Text("Answer.")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await pilot.press("ctrl+t")  # shown, empty, by request
        assert app.thinking_pane.display
        await pilot.press("ctrl+t")  # and hidden for the session
        await _ask(pilot, app, "think")
        assert not app.thinking_pane.display


async def test_show_thinking_false_starts_hidden_and_stays_so(app_env: Path) -> None:
    app = make_app(app_env)
    app.show_thinking = False
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        assert app.thinking_pane.mode == "hidden" and not app.thinking_pane.display


async def test_help_stays_on_the_footer_at_80_columns(app_env: Path) -> None:
    app = make_app(app_env)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await pilot.pause()
        keys = {key.key: key for key in app.query(FooterKey)}
        assert "f1" in keys
        region = keys["f1"].region
        # Whole, and left of the command palette's key, which is docked at the right edge.
        assert region.width >= len("f1 Help")
        assert region.right <= keys["ctrl+p"].region.x <= 80
