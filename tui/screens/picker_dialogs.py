"""The picker's two small dialogs: a new title for a conversation, and "delete it?".

Both are modal and answer through ``dismiss``: the title typed (``""`` goes
back to the automatic title), or whether to delete. Titles shown here come
from user and model text and are shown literally (``safe_content``).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ikigai.tui.widgets.safe_content import plain, styled


class RenameScreen(ModalScreen[str | None]):
    """Returns the new title (``""``: the automatic one again), or ``None`` (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", priority=True)]

    def __init__(self, conversation_id: int, title: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.title_now = title

    def compose(self) -> ComposeResult:
        with Vertical(id="rename-box", classes="dialog"):
            yield Static(
                styled(
                    "[b]Rename conversation #$id[/b]  Enter saves · empty: the first prompt "
                    "again · Esc keeps it",
                    id=str(self.conversation_id),
                ),
                classes="dialog-title",
            )
            yield Input(self.title_now, id="rename-title")

    def on_mount(self) -> None:
        self.query_one("#rename-title", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmDelete(ModalScreen[bool]):
    """Asks before a conversation is deleted: ``y`` deletes, ``n`` or Esc keeps it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete", priority=True),
        Binding("n,escape", "answer(False)", "Keep", priority=True),
    ]

    def __init__(self, conversation_id: int, title: str, messages: int, *, current: bool) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.title_shown = title
        self.messages = messages
        self.current = current

    def compose(self) -> ComposeResult:
        open_note = " It is the one open now: a new conversation takes its place." * self.current
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(
                styled("[b]Delete conversation #$id?[/b]", id=str(self.conversation_id)),
                classes="dialog-title",
            )
            yield Static(
                plain(
                    f"{self.title_shown} — {self.messages} messages, every branch. "
                    f"This cannot be undone.{open_note}"
                )
            )
            yield Static("[b]y[/b] deletes · [b]n[/b] or Esc keeps it", id="confirm-keys")

    def action_answer(self, delete: bool) -> None:
        self.dismiss(delete)
