"""The multi-line prompt input.

Enter sends; Ctrl+J (and Shift+Enter where the terminal reports it) inserts a
newline; Up on the first line and Down on the last walk the prompt history;
Tab completes slash commands (through the ``complete`` callable).
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from ikigai.tui.history import PromptHistory

Completer = Callable[[str], tuple[str, list[str]]]
"""``text -> (completed text, candidates)``."""


class PromptInput(TextArea):
    """A ``TextArea`` that sends on Enter."""

    class Submitted(Message):
        """The user pressed Enter with ``text`` in the input."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Completions(Message):
        """Tab found several candidates; the app shows them."""

        def __init__(self, candidates: list[str]) -> None:
            super().__init__()
            self.candidates = candidates

    class ScrollRequest(Message):
        """Home/End in an empty input: scroll the scrollback to ``where``."""

        def __init__(self, where: str) -> None:
            super().__init__()
            self.where = where

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

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self.text))
            return
        if key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
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
