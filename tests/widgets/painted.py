"""What Textual would write to the terminal for a frame, and the control characters in it.

Textual writes its own escape sequences around content: SGR colours
(``ESC [ ... m``), a cursor move at the start of each line (``ESC [ y ; x H``)
and OSC 8 hyperlinks (``ESC ] 8 ; id=... ; URL ESC \\``). ``foreign_controls``
removes exactly those and the newlines between lines; any control character
left came from content.
"""

from __future__ import annotations

import re
from typing import Any

from textual.app import App

# Hostile content used across the tests: clipboard write (OSC 52), window title
# (OSC 0, BEL- and ST-terminated), clear screen (CSI 2 J), 8-bit CSI and OSC
# (U+009B, U+009D ... U+009C), NEL, DEL, NUL, backspace, vertical tab, form feed.
OSC52 = "\x1b]52;c;SEVMTE8=\x07"
OSC0 = "\x1b]0;pwned\x1b\\"
CLEAR = "\x1b[2JWIPED"
C1 = "\x9b2JC1MARK\x9d0;c1title\x9c\x85"
OTHER = "\x7fDEL\x00NUL\x08BS\x0bVT\x0cFF"
HOSTILE = f"{OSC52} {OSC0} {CLEAR} {C1} {OTHER}"
"""One line of every kind of control character a terminal would act on."""

VISIBLE_OSC52 = "\\x1b]52;c;SEVMTE8=\\x07"
"""How ``OSC52`` looks once neutralized."""

_TEXTUAL_SEQUENCE = re.compile(
    r"\x1b\[[0-9;]*m"  # SGR
    r"|\x1b\[\d+;\d+H"  # cursor position, before each line
    r"|\x1b\]8;[^\x1b\x07]*\x1b\\"  # OSC 8 hyperlink start / end
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def painted(app: App[Any]) -> str:
    """The full frame of the current screen exactly as the driver would write it."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert update is not None
    return update.render_segments(app.console)


def foreign_controls(output: str) -> list[str]:
    """Control characters in ``output`` that are not Textual's own sequences or line breaks."""
    content = _TEXTUAL_SEQUENCE.sub("", output).replace("\n", "")
    return _CONTROL.findall(content)


def visible_text(output: str) -> str:
    """``output`` without Textual's sequences: the characters that land in cells."""
    return _TEXTUAL_SEQUENCE.sub("", output)
