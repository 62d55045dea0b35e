"""Pilot tests of ``ThinkingView``: buffering while hidden, catching up when shown."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.strip import Strip

from ikigai.tui.widgets.thinking import ThinkingView
from tests.widgets.helpers import screen_text


class ThinkingApp(App[None]):
    """A ``ThinkingView`` of fixed height inside a pane that can be hidden."""

    CSS = "#pane { height: 12; } ThinkingView { height: 1fr; }"

    def __init__(self, view: ThinkingView | None = None) -> None:
        super().__init__()
        self.view = view or ThinkingView()

    def compose(self) -> ComposeResult:
        with Vertical(id="pane"):
            yield self.view


class Counts:
    """Calls of the widget's rendering work: wrapping lines and painting lines."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wraps = 0
        self.paints = 0
        wrap = ThinkingView._wrap_line
        paint = ThinkingView.render_line

        def counting_wrap(view: ThinkingView, line: str, width: int) -> list[Strip]:
            self.wraps += 1
            return wrap(view, line, width)

        def counting_paint(view: ThinkingView, y: int) -> Strip:
            self.paints += 1
            return paint(view, y)

        monkeypatch.setattr(ThinkingView, "_wrap_line", counting_wrap)
        monkeypatch.setattr(ThinkingView, "render_line", counting_paint)


def reasoning(lines: int) -> str:
    return "".join(f"step {n}: consider the option number {n} carefully\n" for n in range(lines))


async def test_shows_appended_text_and_follows_the_end() -> None:
    app = ThinkingApp()
    async with app.run_test(size=(60, 20)) as pilot:
        text = reasoning(40)
        for start in range(0, len(text), 7):
            app.view.append(text[start : start + 7])
        app.view.finish()
        await pilot.pause()
        on_screen = screen_text(app)
        assert "step 39: consider the option number 39 carefully" in on_screen
        assert "step 0:" not in on_screen
        assert app.view.text == text


async def test_no_render_work_while_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = Counts(monkeypatch)
    app = ThinkingApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.view.append("visible start\n")
        await pilot.pause(3 / ThinkingView.MAX_FPS)
        await pilot.pause()
        assert "visible start" in screen_text(app)
        pane = app.query_one("#pane")
        pane.display = False
        await pilot.pause()
        wraps, paints = counts.wraps, counts.paints
        text = reasoning(200)
        for start in range(0, len(text), 5):
            app.view.append(text[start : start + 5])
        await pilot.pause(3 / ThinkingView.MAX_FPS)
        await pilot.pause()
        assert (counts.wraps, counts.paints) == (wraps, paints)
        assert app.view._timer is None
        assert "step 199" not in screen_text(app)

        pane.display = True
        await pilot.pause()
        await pilot.pause()
        assert counts.wraps > wraps
        assert "step 199: consider the option number 199 carefully" in screen_text(app)
        assert app.view.text == "visible start\n" + text


async def test_large_text_wraps_each_line_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = Counts(monkeypatch)
    text = reasoning(2_000)  # ~100,000 characters
    assert len(text) > 100_000
    app = ThinkingApp()
    async with app.run_test(size=(80, 20)) as pilot:
        for start in range(0, len(text), 40):
            app.view.append(text[start : start + 40])
        app.view.finish()
        await pilot.pause()
        await pilot.pause()
        # One wrap per logical line at the one width; painting touches only visible lines.
        assert counts.wraps == 2_000
        assert counts.paints < 200
        assert "step 1999:" in screen_text(app)


async def test_finish_then_append_raises_and_clear_resets() -> None:
    app = ThinkingApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.view.append("first turn")
        app.view.finish()
        assert app.view.finished
        with pytest.raises(RuntimeError):
            app.view.append("late")
        await pilot.pause()
        assert "first turn" in screen_text(app)
        app.view.clear()
        assert not app.view.finished
        assert app.view.text == ""
        app.view.append("second turn")
        app.view.finish()
        await pilot.pause()
        on_screen = screen_text(app)
        assert "second turn" in on_screen
        assert "first turn" not in on_screen


async def test_text_given_to_constructor_is_shown() -> None:
    app = ThinkingApp(ThinkingView("loaded from history\nsecond line", finished=True))
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        lines: Any = screen_text(app).splitlines()
        assert lines[:2] == ["loaded from history", "second line"]
