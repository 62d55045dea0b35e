"""The model's reasoning, streamed as plain, muted text.

Reasoning can run to tens of thousands of characters and is often hidden
(collapsed pane), so the widget keeps the text as logical lines and wraps them
lazily: complete lines are wrapped once per width, only the last, growing line
is re-wrapped, and painting copies only the visible wrapped lines. It scrolls
itself (like ``Log``) and follows the end while the view is at the end. While the
widget or an ancestor is not displayed, ``append`` only buffers; the text is
taken in when the widget is shown again.

Reasoning is model text: CR LF and a lone CR are line breaks, and every other
control character is shown as ``\\xNN`` (``engine.textsafety``), never sent to
the terminal.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from ikigai.engine.textsafety import neutralize


class ThinkingView(ScrollView):
    """Reasoning text that grows by appending; ``feed`` / ``append`` / ``finish`` / ``clear``.

    ``feed`` takes the text in at once (the app's frame clock paces it);
    ``append`` coalesces renders to at most ``MAX_FPS`` a second. Hidden
    (``display`` false on it or on an ancestor), the widget does no rendering
    or layout work at all; it catches up when it is shown. With a fixed height
    new text is a repaint and a scroll, never a layout of the screen.
    """

    DEFAULT_CSS = """
    ThinkingView {
        height: auto;
        color: $text-muted;
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    """

    MAX_FPS = 25
    """Upper bound on refreshes per second while streaming."""

    def __init__(
        self,
        text: str = "",
        *,
        finished: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._pending: list[str] = [text] if text else []
        self._lines: list[str] = []  # complete logical lines (without "\n")
        self._partial = ""  # the last logical line, still growing
        self._finished = finished
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._wrap_width = 0
        self._wrapped: list[Strip] = []  # wrapped complete lines at _wrap_width
        self._wrapped_count = 0  # how many of _lines are in _wrapped
        self._partial_wrapped: list[Strip] | None = None

    # -- public API ------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """All the reasoning received so far, including text not yet taken in."""
        return "\n".join([*self._lines, self._partial]) + "".join(self._pending)

    @property
    def finished(self) -> bool:
        """Whether ``finish`` was called since the last ``clear``."""
        return self._finished

    def append(self, text: str) -> None:
        """Add ``text``; buffered, and rendered later only if the widget is displayed."""
        if self._finished:
            raise RuntimeError("ThinkingView.append() after finish()")
        if not text:
            return
        self._pending.append(text)
        if self._timer is None and self.is_mounted and self._is_displayed():
            delay = self._last_flush + 1 / self.MAX_FPS - time.monotonic()
            self._timer = self.set_timer(max(delay, 0.001), self._on_timer, name="thinking-flush")

    def feed(self, text: str) -> None:
        """Add ``text`` and take it in now when displayed (the caller paces the calls)."""
        if self._finished:
            raise RuntimeError("ThinkingView.feed() after finish()")
        if not text:
            return
        self._pending.append(text)
        self._stop_timer()
        if self.is_mounted and self._is_displayed():
            self._flush()

    def finish(self) -> None:
        """No more text will come; show what is left (when displayed)."""
        self._finished = True
        self._stop_timer()
        if self.is_mounted and self._is_displayed():
            self._flush()

    def clear(self) -> None:
        """Forget all text and make the widget ready for a new stream."""
        self._stop_timer()
        self._pending.clear()
        self._lines = []
        self._partial = ""
        self._finished = False
        self._wrap_width = 0
        self._wrapped = []
        self._wrapped_count = 0
        self._partial_wrapped = None
        if self.is_mounted:
            self.virtual_size = Size(0, 0)
            self.scroll_to(0, 0, animate=False, immediate=True)
            self.refresh(layout=True)

    # -- buffering -------------------------------------------------------------------------

    def _is_displayed(self) -> bool:
        return all(node.display for node in self.ancestors_with_self)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        if self._is_displayed():
            self._flush()

    def _on_mount(self, event: events.Mount) -> None:
        """Take in text given to the constructor or appended before mounting."""
        if self._pending and self._is_displayed():
            self._flush()

    def on_show(self, _event: events.Show) -> None:
        """Catch up with what arrived while hidden."""
        if self._pending:
            self._flush()

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        incoming = "".join(self._pending)
        self._pending.clear()
        # A trailing "\r" may be the first half of "\r\n"; keep it for the next flush.
        if not self._finished and incoming.endswith("\r"):
            self._pending.append("\r")
            incoming = incoming[:-1]
        incoming = incoming.replace("\r\n", "\n").replace("\r", "\n")
        pieces = (self._partial + incoming).split("\n")
        self._lines.extend(pieces[:-1])
        self._partial = pieces[-1]
        self._partial_wrapped = None
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        at_end = self.is_vertical_scroll_end
        width = self.scrollable_content_region.width
        if width > 0:
            complete, partial = self._wrapped_lines(width)
            self.virtual_size = Size(width, len(complete) + len(partial))
            if at_end and not self.is_vertical_scrollbar_grabbed:
                # Deferred until after layout, which knows the new maximum scroll.
                self.scroll_end(animate=False, x_axis=False, force=True)
        height = self.styles.height
        self.refresh(layout=height is None or height.is_auto)

    def on_resize(self, _event: events.Resize) -> None:
        """Re-wrap for the new width (complete lines once, then cached again)."""
        if self._wrap_width != self.scrollable_content_region.width:
            self._update_virtual_size()

    # -- rendering -------------------------------------------------------------------------

    def _wrap_line(self, line: str, width: int) -> list[Strip]:
        """Wrap one logical line to ``width`` cells."""
        if not line:
            return [Strip.blank(0)]
        console = self.app.console
        return [
            Strip(list(part.render(console)), part.cell_len)
            for part in Text(neutralize(line)).wrap(console, width)
        ]

    def _wrapped_lines(self, width: int) -> tuple[list[Strip], list[Strip]]:
        if width != self._wrap_width:
            self._wrap_width = width
            self._wrapped = []
            self._wrapped_count = 0
            self._partial_wrapped = None
        if self._wrapped_count < len(self._lines):
            wrapped = self._wrapped
            for line in self._lines[self._wrapped_count :]:
                wrapped.extend(self._wrap_line(line, width))
            self._wrapped_count = len(self._lines)
        if self._partial_wrapped is None:
            self._partial_wrapped = self._wrap_line(self._partial, width) if self._partial else []
        return self._wrapped, self._partial_wrapped

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Wrapped line count at ``width`` (for ``height: auto``); wraps only what is new."""
        if width <= 0:
            return 0
        complete, partial = self._wrapped_lines(width)
        return len(complete) + len(partial)

    def render_line(self, y: int) -> Strip:
        """One visible wrapped line, padded to the view's width, under the widget's style."""
        width = self.scrollable_content_region.width
        style = self.rich_style
        if width <= 0:
            return Strip.blank(0, style)
        complete, partial = self._wrapped_lines(width)
        y += self.scroll_offset.y
        if y < len(complete):
            line = complete[y]
        elif y - len(complete) < len(partial):
            line = partial[y - len(complete)]
        else:
            return Strip.blank(width, style)
        return line.extend_cell_length(width).apply_style(style)
