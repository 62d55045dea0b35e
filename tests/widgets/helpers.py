"""Helpers for widget pilot tests: the text of the painted screen."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.app import App


def screen_text(app: App[Any]) -> str:
    """The plain text of the frame the compositor paints now, lines right-stripped."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def content_lines(text: str) -> list[str]:
    """Non-blank lines, right-stripped: the content without the spacing between blocks."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]
