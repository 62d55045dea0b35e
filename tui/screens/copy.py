"""Copy any message or code block (Ctrl+G): pick one from a list, Enter copies.

The list shows the start of each item with control characters as ``\\xNN``;
what is copied is the item as received.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ikigai.tui.widgets.safe_content import styled


def copy_choices(messages: Sequence[Widget], limit: int = 60) -> list[tuple[str, str]]:
    """``(label, text)`` for the newest messages and their code blocks, newest first."""
    choices: list[tuple[str, str]] = []
    for widget in reversed(messages):
        text = getattr(widget, "copy_text", None)
        if not isinstance(text, str) or not text:
            continue
        kind = next(iter(sorted(widget.classes - {"message"})), "message")
        for number, block in enumerate(getattr(widget, "code_blocks", []), start=1):
            choices.append((f"code block {number} of an answer", block))
        choices.append((kind, text))
        if len(choices) >= limit:
            break
    return choices


class CopyScreen(ModalScreen[tuple[str, str] | None]):
    """Returns ``(label, text)`` of the chosen item, or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", priority=True)]

    def __init__(self, messages: Sequence[Widget]) -> None:
        super().__init__()
        self.choices = copy_choices(messages)

    def compose(self) -> ComposeResult:
        with Vertical(id="copy-box", classes="dialog"):
            yield Static("[b]Copy[/b]  Enter copies · Esc closes", classes="dialog-title")
            options = []
            for index, (label, text) in enumerate(self.choices):
                first = " ".join(text.split())[:70]
                prompt = styled("[b]$label[/b]: $first", label=label, first=first)
                options.append(Option(prompt, id=str(index)))
            yield OptionList(*options, id="copy-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)])

    def action_close(self) -> None:
        self.dismiss(None)
