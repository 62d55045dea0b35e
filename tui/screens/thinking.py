"""The thinking of one answer, after the fact (a click on its marker, or ``t``).

The text is the model's: shown literally, control characters as ``\\xNN``
(``tui.widgets.safe_content``), never parsed as markup. Esc, q or t closes.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ikigai.tui.widgets.safe_content import plain


class ThinkingScreen(ModalScreen[None]):
    """Shows one answer's thinking; scrolls with the arrows and PageUp/PageDown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,t", "close", "Close", priority=True),
    ]

    def __init__(self, thinking: str) -> None:
        super().__init__()
        self.thinking = thinking

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="thinking-box", classes="dialog"):
            yield Static("[b]Thinking[/b] of this answer  (Esc closes)", classes="dialog-title")
            yield Static(plain(self.thinking), id="thinking-text")

    def on_mount(self) -> None:
        self.query_one("#thinking-box").focus()

    def action_close(self) -> None:
        self.dismiss(None)
