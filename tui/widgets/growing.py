"""Widgets that grow at their end while an answer streams keep the lines they painted.

Kept apart from the Markdown widget so that the app's containers can use it
without loading the Markdown machinery before the first frame.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


def resize_keeping_lines(
    widget: Widget, size: Size, virtual_size: Size, container_size: Size
) -> bool:
    """Textual's ``Widget._size_updated`` for a widget that grows at the same width.

    Textual marks a widget whose size changed dirty as a whole (every painted
    line is rendered again) and, as its virtual size changed, asks for a second
    layout of the screen. A streaming answer only grows at its end: its lines
    are painted at the same rows as before, and the lines that changed were
    marked dirty when they changed (``refresh(region)``). So at the same width,
    when nothing is drawn at the widget's bottom edge (no bottom border,
    outline or padding), the painted lines are kept and no second layout is
    asked for. Otherwise (a new width, say) Textual's own runs, without the
    second layout: the widget does not scroll, and the layout that calls this
    just settled its size. Relies on Textual's private size attributes (Textual
    is pinned); the streaming tests compare streamed and at-once renders.
    """
    styles = widget.styles
    keeps_lines = (
        widget._size.width == size.width
        and styles.padding.bottom == 0
        and styles.border_bottom[0] in ("", "none")
        and styles.outline_bottom[0] in ("", "none")
    )
    if not keeps_lines:
        return Widget._size_updated(widget, size, virtual_size, container_size, layout=False)
    widget._layout_cache.clear()
    if (
        widget._size == size
        and widget.virtual_size == virtual_size
        and widget._container_size == container_size
    ):
        return False
    widget._size = size
    widget.set_reactive(Widget.virtual_size, virtual_size)
    widget._container_size = container_size
    return True
