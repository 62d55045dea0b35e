"""The last guard between painted lines and the terminal: no control characters get out.

Content is neutralized where it enters a widget (``engine.textsafety``: shown
as ``\\xNN``). This filter catches what a widget forgot or never controlled
(Textual's own ``TextArea``, ``Input``, ``OptionList``, toasts): Textual writes
a segment's text to the terminal as it is, and Rich and Textual only strip
BEL, BS, VT, FF and CR, so an ``ESC`` or a C1 control in any segment would
reach the terminal. Installed app-wide through ``App.get_line_filters``.

Deleting keeps every line's width: Rich measures control characters as zero
cells. Segments that are control sequences (``Segment.control``) are dropped,
and a hyperlink target holding a control character loses its link (Textual
writes targets into an OSC 8 sequence).
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from ikigai.engine.textsafety import has_controls, remove_controls


def _unsafe(segment: Segment) -> bool:
    style = segment.style
    return bool(
        segment.control
        or has_controls(segment.text)
        or (style is not None and style.link and has_controls(style.link))
    )


class ControlCharacterFilter(LineFilter):
    """Removes C0 controls (tab and newline too), DEL and C1 controls from painted lines."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """``segments`` unchanged when clean (the common case), else a cleaned copy."""
        if not any(_unsafe(segment) for segment in segments):
            return segments
        cleaned: list[Segment] = []
        for text, style, control in segments:
            if control:
                continue
            text = remove_controls(text)
            if style is not None and style.link and has_controls(style.link):
                style = style.update_link(None)
            if text:
                cleaned.append(Segment(text, style))
        return cleaned


CONTROL_FILTER = ControlCharacterFilter()
"""The instance the app adds to Textual's line filters (one instance: strips cache per filter)."""
