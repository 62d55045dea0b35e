"""The multi-line prompt input.

Enter sends and Ctrl+J (or Shift+Enter where the terminal reports it) inserts a
newline; ``[keys]`` can move both (actions ``submit`` and ``newline``). Up on
the first line and Down on the last walk the prompt history; Tab completes
slash commands and a ``@path`` at the end (through the ``complete`` callable),
and several candidates open the dropdown under the input
(``tui.widgets.completion_popup``): while it is open, Tab/Down and
Shift+Tab/Up move in it, Enter takes the highlighted one and Esc closes it;
any other key closes it and is the input's as usual.

The two keys are matched in the widget's own key handler, not as Textual
bindings: a priority binding would run before the keys typed just ahead of it
are in the text (a fast typist or a terminal that sends ``hi\r`` at once would
send an empty prompt), and a plain binding never sees Enter, which the text
area consumes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from ikigai.tui.history import PromptHistory

if TYPE_CHECKING:
    from ikigai.tui.widgets.completion_popup import CompletionPopup

Completer = Callable[[str], tuple[str, list[str]]]
"""``text -> (completed text, candidates)``."""


class PromptInput(TextArea):
    """A ``TextArea`` that sends on Enter."""

    @dataclass
    class Submitted(Message):
        """The user asked to send what is in the input."""

        text: str
        """The input's text."""

    @dataclass
    class Completions(Message):
        """Tab found several candidates; the app shows them in the dropdown."""

        line: str
        """The input's text they complete."""
        candidates: list[str]
        """The completions, in order."""

    def __init__(
        self,
        history: PromptHistory,
        complete: Completer | None = None,
        *,
        blink: bool = True,
        submit_keys: Collection[str] = ("enter",),
        newline_keys: Collection[str] = ("ctrl+j", "shift+enter"),
        popup: CompletionPopup | None = None,
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
        self.submit_keys = frozenset(submit_keys)
        self.newline_keys = frozenset(newline_keys)
        self.popup = popup
        """The completion dropdown this input routes keys to while it is open."""

    def action_submit(self) -> None:
        """Send the input's text."""
        self.post_message(self.Submitted(self.text))

    def action_newline(self) -> None:
        """Insert a line break."""
        self.insert("\n")

    def accept_completion(self, index: int | None = None) -> None:
        """Put the highlighted (or ``index``) candidate of the dropdown into the text."""
        from ikigai.tui.completion import accept

        popup = self.popup
        if popup is None:
            return
        if index is not None:
            popup.highlighted = index
        chosen = popup.chosen()
        popup.hide()
        if chosen is not None:
            self.set_text(accept(self.text, chosen))
        self.focus()

    def _popup_key(self, key: str) -> bool:
        """Handle ``key`` while the dropdown is open; False: the input handles it."""
        popup = self.popup
        if popup is None or not popup.is_open:
            return False
        if key in ("tab", "down"):
            popup.move(1)
        elif key in ("shift+tab", "up"):
            popup.move(-1)
        elif key in self.submit_keys:
            self.accept_completion()
        elif key == "escape":
            popup.hide()
        else:
            popup.hide()  # typing goes on in the input; Tab opens the list again
            return False
        return True

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if self._popup_key(key):
            event.stop()
            event.prevent_default()
            return
        if key in self.submit_keys:
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if key in self.newline_keys:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        if key == "tab" and self.complete is not None and _completes(self.text):
            event.stop()
            event.prevent_default()
            completed, candidates = self.complete(self.text)
            if completed != self.text:
                self.set_text(completed)
            if len(candidates) > 1:
                self.post_message(self.Completions(completed, candidates))
            return
        if key in ("home", "end") and not self.text:
            event.stop()
            event.prevent_default()
            # An empty input has nothing to move through: scroll the conversation.
            await self.run_action("app.scroll_top" if key == "home" else "app.scroll_bottom")
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


def _completes(text: str) -> bool:
    """Whether Tab completes ``text``: a slash command, or a ``@path`` being typed."""
    if text.startswith("/"):
        return True
    last = text.rsplit(None, 1)[-1] if text.strip() and not text[-1].isspace() else ""
    return last.startswith("@")
