"""The conversation picker (Ctrl+O): recent conversations, full-text search, Enter opens.

A search hit opens its conversation at the branch holding the matching message
(the screen returns ``(conversation id, message id)``); a conversation from the
list opens where the user was in it (``(conversation id, None)``). Forks say
which conversation they came from; each row says when it was last active
(``tui.dates``). F2 renames the highlighted conversation and Ctrl+D deletes it
after a confirmation (``tui.screens.picker_dialogs``); deleting goes through
the ``delete`` callable the app passes, which starts a new conversation first
when the one open is deleted.

Titles and search snippets come from model and user text: they are shown
literally, with control characters as ``\\xNN`` (``tui.widgets.safe_content``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ikigai.tui.dates import relative
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
        Binding("f2", "rename", "Rename", priority=True),
        Binding("ctrl+d", "delete", "Delete", priority=True),
    ]

    def __init__(
        self,
        db: Database,
        current: int | None = None,
        *,
        delete: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.current = current
        self.delete = delete
        """Deletes a conversation (the app's verb); ``None``: straight from storage."""

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog"):
            yield Static(
                "[b]Conversations[/b]  type to search · Enter opens · F2 renames · "
                "Ctrl+D deletes · Esc closes",
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

    def highlighted_conversation(self) -> int | None:
        """The id of the conversation highlighted in the list, if any."""
        listing = self.query_one("#picker-list", OptionList)
        if listing.highlighted is None or not listing.option_count:
            return None
        conversation = (listing.get_option_at_index(listing.highlighted).id or "").partition(":")
        return int(conversation[0]) if conversation[0].isdigit() else None

    def _search_text(self) -> str:
        return self.query_one("#picker-search", Input).value

    @work(group="picker-edit")
    async def action_rename(self) -> None:
        """F2: a new title for the highlighted conversation (empty: the automatic one)."""
        from ikigai.tui.screens.picker_dialogs import RenameScreen

        conversation = self.highlighted_conversation()
        if conversation is None:
            return
        summary = await self.db.get_conversation(conversation)
        if summary is None:
            return
        title = await self.app.push_screen_wait(RenameScreen(conversation, summary.title or ""))
        if title is None:
            return
        await self.db.rename_conversation(conversation, title or None)
        self.refresh_list(self._search_text())

    @work(group="picker-edit")
    async def action_delete(self) -> None:
        """Ctrl+D: delete the highlighted conversation, once confirmed."""
        from ikigai.tui.screens.picker_dialogs import ConfirmDelete

        conversation = self.highlighted_conversation()
        if conversation is None:
            return
        summary = await self.db.get_conversation(conversation)
        if summary is None:
            return
        current = conversation == self.current
        asked = ConfirmDelete(
            conversation,
            summary.title or "(untitled)",
            summary.message_count,
            current=current,
        )
        if not await self.app.push_screen_wait(asked):
            return
        if self.delete is not None:
            await self.delete(conversation)
        else:
            await self.db.delete_conversation(conversation)
        if current:
            self.current = None
        self.refresh_list(self._search_text())

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
                    "#$id $title$marker\n  [dim]$when · $model · $count messages$fork[/dim]",
                    id=str(summary.id),
                    title=summary.title or "(untitled)",
                    marker=" (open)" if summary.id == self.current else "",
                    when=relative(summary.updated_at) or "-",
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
