"""The conversation picker (Ctrl+O): recent conversations, full-text search, Enter opens.

A search hit opens its conversation at the branch holding the matching message
(the screen returns ``(conversation id, message id)``); a conversation from the
list opens where the user was in it (``(conversation id, None)``). Forks say
which conversation they came from.

Titles and search snippets come from model and user text: they are shown
literally, with control characters as ``\\xNN`` (``tui.widgets.safe_content``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ikigai.tui.widgets.safe_content import plain, styled

if TYPE_CHECKING:
    from ikigai.storage.repository import Database

# Private-use characters mark the search hits in a snippet (content is unlikely to hold them).
_HIT_START, _HIT_END = "\ue000", "\ue001"


def highlighted_snippet(snippet: str) -> Content:
    """A search snippet with the hits (between the markers) in bold, the rest literal."""
    first, *hits = snippet.split(_HIT_START)
    parts = [plain(first)]
    for piece in hits:
        hit, marker, rest = piece.partition(_HIT_END)
        parts.append(plain(hit).stylize("bold") if marker else plain(piece))
        parts.append(plain(rest))
    return Content("").join(parts)


Choice = tuple[int, int | None]
"""The chosen conversation, and the message to open it at (a search hit) or ``None``."""


class PickerScreen(ModalScreen[Choice | None]):
    """Returns the chosen conversation (and search hit), or ``None`` when dismissed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", priority=True),
        Binding("down", "focus_list", "List", show=False),
    ]

    def __init__(self, db: Database, current: int | None = None) -> None:
        super().__init__()
        self.db = db
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog"):
            yield Static(
                "[b]Conversations[/b]  type to search · Enter opens · Esc closes",
                classes="dialog-title",
            )
            yield Input(placeholder="search every message…", id="picker-search")
            yield OptionList(id="picker-list")

    def on_mount(self) -> None:
        self.query_one("#picker-search", Input).focus()
        self.refresh_list("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_list(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#picker-list", OptionList)
        if options.option_count:
            index = options.highlighted if options.highlighted is not None else 0
            self._choose(options.get_option_at_index(index))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option)

    def _choose(self, option: Option) -> None:
        conversation, _, message = (option.id or "").partition(":")
        if conversation.isdigit():
            self.dismiss((int(conversation), int(message) if message.isdigit() else None))

    @work(exclusive=True, group="picker")
    async def refresh_list(self, text: str) -> None:
        """Recent conversations, or the conversations whose messages match ``text``."""
        options: list[Option] = []
        if text.strip():
            seen: set[int] = set()
            hits = await self.db.search(text, limit=50, highlight=(_HIT_START, _HIT_END))
            for hit in hits:
                if hit.conversation_id in seen:
                    continue
                seen.add(hit.conversation_id)
                heading = styled(
                    "#$id $title\n  ", id=str(hit.conversation_id), title=hit.title or "(untitled)"
                )
                prompt = heading + highlighted_snippet(hit.snippet)
                options.append(Option(prompt, id=f"{hit.conversation_id}:{hit.message_id}"))
        else:
            for summary in await self.db.list_conversations(limit=100):
                if summary.message_count == 0 and summary.id != self.current:
                    continue
                fork = summary.forked_from
                prompt = styled(
                    "#$id $title$marker\n  [dim]$model · $count messages$fork[/dim]",
                    id=str(summary.id),
                    title=summary.title or "(untitled)",
                    marker=" (open)" if summary.id == self.current else "",
                    model=summary.model or "-",
                    count=str(summary.message_count),
                    fork=f" · forked from #{fork}" if fork is not None else "",
                )
                options.append(Option(prompt, id=str(summary.id)))
        listing = self.query_one("#picker-list", OptionList)
        listing.clear_options()
        listing.add_options(options)
        if options:
            listing.highlighted = 0

    def action_focus_list(self) -> None:
        self.query_one("#picker-list", OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
