"""The dim line above an answer that had thinking: the thinking stays reachable.

The thinking pane shows reasoning while it streams; afterwards (and in a
resumed conversation) each answer whose response had thinking carries this
marker just above it (above the tool calls, for a response that only called
tools). A click on it, or ``t`` on the selected answer, opens the thinking in
a modal screen (``tui.screens.thinking``). The marker holds the text it opens
(what the stream delivered, or the stored row's ``thinking``), so it works
unsaved too, and carries the answer's row so that a new branch takes it off
the screen with its answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from ikigai.tui.widgets.safe_content import plain

if TYPE_CHECKING:
    from ikigai.tui.widgets.rows import RowHandle


def marker_label(thinking: str) -> str:
    """``✻ thinking · 152 words · click, or t on the selected answer``."""
    words = len(thinking.split())
    return f"✻ thinking · {words:,} word{'s' if words != 1 else ''} · click, or t on the answer"


class ThinkingMarker(Static):
    """Marks a response that had thinking; a click opens it."""

    DEFAULT_CLASSES = "thinking-marker"

    def __init__(self, thinking: str, row: RowHandle | None = None) -> None:
        super().__init__(plain(marker_label(thinking)))
        self.thinking = thinking
        self.row = row

    def on_click(self) -> None:
        self.open()

    def open(self) -> None:
        """Show the thinking in a modal screen."""
        from ikigai.tui.screens.thinking import ThinkingScreen

        self.app.push_screen(ThinkingScreen(self.thinking))
