"""The status bar's context meter: what it shows, when it warns, how it shortens."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult

from ikigai.tui.widgets.status_bar import StatusBar, StatusInfo
from tests.widgets.helpers import screen_text

BASE = {"profile": "default", "model": "anthropic/claude-sonnet-4-5", "thinking": "med"}


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar()


async def shown(width: int, **info: Any) -> tuple[str, StatusBar]:
    app = BarApp()
    async with app.run_test(size=(width, 3)) as pilot:
        bar = app.query_one(StatusBar)
        bar.info = StatusInfo(**{**BASE, **info})
        await pilot.pause()
        return screen_text(app).splitlines()[0], bar


async def test_the_meter_shows_fill_and_cost() -> None:
    line, bar = await shown(140, context_fill=0.412, cost_usd=0.01234, conversation=3)
    assert "│ ctx 41% · $0.0123 │ #3" in line
    assert not any("$warning" in str(span.style) for span in bar.render().spans)


async def test_past_the_threshold_it_warns() -> None:
    _, bar = await shown(140, context_fill=0.9, cost_usd=0.5, context_warning=True)
    styled = [span for span in bar.render().spans if "$warning" in str(span.style)]
    assert len(styled) == 1


async def test_unknown_parts_are_left_out_and_a_lower_bound_is_marked() -> None:
    line, _ = await shown(140)
    assert "ctx" not in line and "$" not in line
    line, _ = await shown(140, cost_usd=0.25, cost_partial=True)
    assert "│ ≥$0.2500 │" in line and "ctx" not in line


async def test_a_narrow_bar_shortens_the_meter() -> None:
    line, _ = await shown(80, context_fill=0.412, cost_usd=0.01234, conversation=3)
    assert "│41%·$0.01│#3" in line
    assert len(line) <= 80
