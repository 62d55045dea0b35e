"""A scroll bar repainted only when what it draws changes.

Textual's ``ScrollBar`` repaints itself, every line of it, whenever the
size of what it scrolls or the scroll position changes, and the scrolling
widget's scroll update asks it for a repaint each time as well. While an
answer streams both change in every frame, but the thumb moves by an eighth
of a cell only every so often (and not at all once it is one cell tall at
the bottom): at 2,000 tokens/s the bar was re-rendered about twenty lines
per screen update, the costliest widget on screen after the answer itself.
``SteadyScrollBar`` takes the same values without repainting and repaints
when the bar Textual would draw for them differs from the one drawn last
(the comparison uses Textual's own ``render_bar``); within ``steady()`` a
plain ``refresh()`` means the same. Any other refresh (hover, a grab, the
theme, a resize) repaints as Textual's does.

``steady_vertical_scrollbar`` builds it for a scrolling widget the way
Textual's ``Widget.vertical_scrollbar`` does (it relies on the private
attributes that property uses; Textual is pinned, and a test checks the
scrollback's bar is this one and still follows the content).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from math import ceil
from typing import TYPE_CHECKING

from rich.segment import Segment
from textual.reactive import Reactive
from textual.scrollbar import ScrollBar

if TYPE_CHECKING:
    from typing import Self

    from textual.geometry import Region
    from textual.widget import Widget


class SteadyScrollBar(ScrollBar):
    """Textual's scroll bar; a change of size or position repaints it only if the thumb moved."""

    window_virtual_size: Reactive[int] = Reactive(100, repaint=False)
    window_size: Reactive[int] = Reactive(0, repaint=False)
    position: Reactive[float] = Reactive(0, repaint=False)

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1):
        super().__init__(vertical, name, thickness=thickness)
        self._drawn: list[Segment] | None = None
        self._steady = False

    @contextmanager
    def steady(self) -> Iterator[None]:
        """Within: a plain ``refresh()`` repaints only if the thumb moved."""
        self._steady = True
        try:
            yield
        finally:
            self._steady = False

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        """Textual's; within ``steady()`` a plain one repaints only if the thumb moved."""
        if self._steady and not regions and repaint and not layout and not recompose:
            self._repaint_if_moved()
            return self
        self._drawn = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _thumb(self) -> list[Segment]:
        """The bar's cells for the current values (what ``ScrollBar._render_bar`` draws)."""
        # As ``ScrollBarRender`` measures them when it renders: from the bar's own size.
        width, height = self.size
        window = self.window_size if self.window_size < self.window_virtual_size else 0
        bar = self.renderer.render_bar(
            size=height if self.vertical else width,
            virtual_size=ceil(self.window_virtual_size),
            window_size=ceil(window),
            position=self.position,
            thickness=width if self.vertical else height,
            vertical=self.vertical,
        )
        return list(bar.segments)

    def _repaint_if_moved(self) -> None:
        drawn = self._thumb()
        if drawn != self._drawn:
            super().refresh()
            self._drawn = drawn

    def watch_window_virtual_size(self) -> None:
        self._repaint_if_moved()

    def watch_window_size(self) -> None:
        self._repaint_if_moved()

    def watch_position(self) -> None:
        self._repaint_if_moved()


def steady_vertical_scrollbar(widget: Widget) -> ScrollBar:
    """``widget``'s vertical scroll bar, created as a ``SteadyScrollBar`` on first use."""
    if widget._vertical_scrollbar is None:
        thickness = widget.scrollbar_size_vertical
        bar = SteadyScrollBar(vertical=True, name="vertical", thickness=thickness)
        bar.display = False
        widget._vertical_scrollbar = bar
        widget.app._start_widget(widget, bar)
    return widget._vertical_scrollbar
