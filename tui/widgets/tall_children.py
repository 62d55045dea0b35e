"""Containers whose children may be hundreds of thousands of lines tall.

Textual finds what is in view through a spatial map of each container's
children, a grid of 100 x 20 cells in which each child is listed in every
cell it covers. A 10 MB answer is about 300,000 lines: 15,000 cells, filled
again at each layout of the scrollback and of the answer's own container
(about 40 ms each, which every key typed meanwhile waited for). These
containers build their map with cells ``GRID_LINES`` tall instead: a tall
child covers a few hundred, and a view of 40 lines still looks at one or two
cells, holding the few children near it.

The map is a lazily built field of Textual's arrangement result, built here
once when the arrangement is made (Textual is pinned; the map's query is
Textual's own).
"""

from __future__ import annotations

from textual._spatial_map import SpatialMap
from textual.geometry import Size
from textual.layout import DockArrangeResult, WidgetPlacement
from textual.widget import Widget

GRID_LINES = 1_000
"""Lines per cell of the map (Textual's is 20)."""


class TallChildren(Widget):
    """A container arranged with a coarse spatial map (``GRID_LINES`` tall cells)."""

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        """Textual's arrangement, with its spatial map built on coarse cells."""
        arrangement = super().arrange(size, optimal)
        if arrangement._spatial_map is None:
            arrangement._spatial_map = coarse_map(arrangement.placements)
        return arrangement


def coarse_map(placements: list[WidgetPlacement]) -> SpatialMap[WidgetPlacement]:
    """The spatial map Textual would build for ``placements``, on ``GRID_LINES`` cells."""
    spatial_map: SpatialMap[WidgetPlacement] = SpatialMap(grid_height=GRID_LINES)
    spatial_map.insert(
        (
            placement.region.grow(placement.margin),
            placement.offset,
            placement.fixed,
            placement.overlay,
            placement,
        )
        for placement in placements
    )
    return spatial_map
