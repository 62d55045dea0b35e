"""The multi-line prompt input.

Enter sends and Ctrl+J (or Shift+Enter where the terminal reports it) inserts a
newline: both are bindings (``submit``, ``newline``), so ``[keys]`` can move
them. Up on the first line and Down on the last walk the prompt history; Tab
completes slash commands (through the ``complete`` callable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from ikigai.tui.history import PromptHistory

Completer = Callable[[str], tuple[str, list[str]]]
"""``text -> (completed text, candidates)``."""


class PromptInput(TextArea):
    """A ``TextArea`` that sends on Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", show=False, priority=True, id="submit"),
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False, id="newline"),
    ]

    @dataclass
    class Submitted(Message):
        """The user asked to send what is in the input."""

        text: str
        """The input's text."""

    @dataclass
    class Completions(Message):
        """Tab found several candidates; the app shows them."""

        candidates: list[str]
        """The completions, in order."""

    @dataclass
    class ScrollRequest(Message):
        """Home/End in an empty input: scroll the scrollback."""

        where: str
        """``home`` or ``end``."""

    def __init__(
        self,
        history: PromptHistory,
        complete: Completer | None = None,
        *,
        blink: bool = True,
        id: str | None = None,
    ) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            highlight_cursor_line=False,
        )
        self.cursor_blink = blink
        self.prompt_history = history
        self.complete = complete

    def action_submit(self) -> None:
        """Send the input's text."""
        self.post_message(self.Submitted(self.text))

    def action_newline(self) -> None:
        """Insert a line break."""
        self.insert("\n")

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "tab" and self.complete is not None and self.text.startswith("/"):
            event.stop()
            event.prevent_default()
            completed, candidates = self.complete(self.text)
            if completed != self.text:
                self.set_text(completed)
            elif len(candidates) > 1:
                self.post_message(self.Completions(candidates))
            return
        if key in ("home", "end") and not self.text:
            event.stop()
            event.prevent_default()
            self.post_message(self.ScrollRequest(key))
            return
        if key == "up" and self.cursor_at_first_line:
            entry = self.prompt_history.previous(self.text)
            if entry is not None:
                event.stop()
                event.prevent_default()
                self.set_text(entry)
                return
        if key == "down" and self.cursor_at_last_line:
            entry = self.prompt_history.next()
            if entry is not None:
                event.stop()
                event.prevent_default()
                self.set_text(entry)
                return
        await super()._on_key(event)

    def set_text(self, text: str) -> None:
        """Replace the content and put the cursor at the end."""
        self.load_text(text)
        self.move_cursor(self.document.end)
