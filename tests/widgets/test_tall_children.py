"""The scrollback and an answer's container find what is in view with a coarse spatial map.

A child of 300,000 lines (a 10 MB answer) filled 15,000 cells of Textual's
map at each layout; the coarse map holds it in a few hundred and still finds
the children in view.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from ikigai.tui.widgets.scrollback import Scrollback
from ikigai.tui.widgets.tall_children import GRID_LINES, coarse_map
from tests.widgets.helpers import screen_text

TALL = 300_000


class _Tall(App[None]):
    CSS = "#tall { height: 300000; }"

    def compose(self) -> ComposeResult:
        yield Scrollback(is_current=lambda _turn: True, advise=str, id="scrollback")


async def test_a_tall_child_fills_few_cells_and_what_is_in_view_is_found() -> None:
    app = _Tall()
    async with app.run_test(size=(60, 20)) as pilot:
        scrollback = app.query_one(Scrollback)
        scrollback.add(Static("above", id="above"), Static("tall", id="tall"))
        scrollback.add(Static("below", id="below"))
        await pilot.pause()
        scrollback.scroll_end(animate=False)
        await pilot.pause()
        arrangement = scrollback.arrange(scrollback.scrollable_content_region.size)
        cells = arrangement.spatial_map._map
        assert len(cells) <= TALL // GRID_LINES + 4
        end = Region(0, int(scrollback.scroll_y), 60, 20)
        ids = {p.widget.id for p in arrangement.get_visible_placements(end)}
        assert {"tall", "below"} <= ids
        assert "below" in screen_text(app) and "above" not in screen_text(app)


def test_the_coarse_map_finds_what_textuals_finds() -> None:
    from textual._spatial_map import SpatialMap
    from textual.geometry import Offset, Spacing
    from textual.layout import WidgetPlacement
    from textual.widget import Widget

    widgets = [Widget(id=f"w{n}") for n in range(4)]
    regions = [Region(0, 0, 60, 3), Region(0, 3, 60, TALL), Region(0, TALL + 3, 60, 5)]
    placements = [
        WidgetPlacement(region, Offset(), Spacing(), widget)
        for region, widget in zip(regions, widgets, strict=False)
    ]
    fine: SpatialMap[WidgetPlacement] = SpatialMap()
    fine.insert((p.region, p.offset, p.fixed, p.overlay, p) for p in placements)
    coarse = coarse_map(placements)
    assert coarse.total_region == fine.total_region == Region(0, 0, 60, TALL + 8)
    for view in (Region(0, 0, 60, 20), Region(0, 150_000, 60, 20), Region(0, TALL - 10, 60, 20)):
        found = {p.widget.id for p in coarse.get_values_in_region(view) if p.region.overlaps(view)}
        expected = {p.widget.id for p in fine.get_values_in_region(view) if p.region.overlaps(view)}
        assert found == expected
