"""The completion dropdown under the prompt input.

When Tab finds several candidates (commands, models, levels, profiles, marks,
``@path`` names) they are listed here instead of in the transcript. The list
never takes the focus: the input keeps every key, and only while the list is
open does it route Tab/Down and Shift+Tab/Up (move), Enter (accept) and Esc
(close) to it; any other key closes it and goes to the input as usual. A click
on a candidate accepts it too. Candidates can come from a server (model ids) or
the file system (names): they are shown literally (``safe_content``).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ikigai.tui.widgets.safe_content import plain

MAX_SHOWN = 200
"""Candidates listed at most (the rest narrow down as the user types)."""


class CompletionPopup(OptionList):
    """A non-focusable list of completion candidates; hidden while empty."""

    can_focus = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.candidates: list[str] = []
        self.line = ""
        """The input's text the candidates complete."""
        self.display = False

    @property
    def is_open(self) -> bool:
        """Whether the list is shown."""
        return bool(self.display)

    def show(self, line: str, candidates: Sequence[str]) -> None:
        """List ``candidates`` for the input text ``line``, the first highlighted."""
        self.line = line
        self.candidates = list(candidates[:MAX_SHOWN])
        self.clear_options()
        self.add_options(
            Option(plain(candidate), id=str(index))
            for index, candidate in enumerate(self.candidates)
        )
        self.display = bool(self.candidates)
        if self.candidates:
            self.highlighted = 0

    def hide(self) -> None:
        """Close the list."""
        self.display = False
        self.candidates = []
        self.clear_options()

    def move(self, step: int) -> None:
        """Highlight the next (``1``) or previous (``-1``) candidate, wrapping around."""
        if not self.candidates:
            return
        current = self.highlighted if self.highlighted is not None else -step
        self.highlighted = (current + step) % len(self.candidates)

    def chosen(self) -> str | None:
        """The highlighted candidate."""
        index = self.highlighted
        if index is None or not 0 <= index < len(self.candidates):
            return None
        return self.candidates[index]
