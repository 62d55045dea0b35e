"""The app's side of branches: editing a prompt, regenerating an answer, switching
versions, forking, and the ``‹ 2/3 ›`` indicators.

The engine's ``Conversation`` does every branch (``edit``, ``regenerate``,
``switch_branch``, ``fork``, ``versions``); this module keeps the screen in
step. An edit or a regeneration is a turn whose first event (``branched``)
makes the scrollback take the replaced message and what followed off the
screen, in order with the stream; a switch removes the same and mounts the
stored rows of the branch switched to. After each of them, and after every
turn, the indicators are refreshed from storage.

Edit mode: the prompt's text is put in the input (what was typed there is
kept aside and comes back afterwards); Enter sends it as a new version, Esc
leaves edit mode. While a turn runs, starting an edit or sending one is
refused with a note and nothing typed is lost.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from textual.app import App

from ikigai.tui.widgets.message_views import UserMessage
from ikigai.tui.widgets.navigation import VERSIONED, MessageNavigation
from ikigai.tui.widgets.rows import StoredRow, row_id
from ikigai.tui.widgets.versions import show_versions

if TYPE_CHECKING:
    from ikigai.engine.branches import VersionChoice
    from ikigai.engine.turns import Turn
    from ikigai.storage.writer import RowRef
    from ikigai.tui.app import IkigaiApp

BUSY_NOTE = "a turn is running: {what} waits until it ends — Esc cancels the turn"
EDIT_TITLE = "editing message {id} · Enter sends it as a new version · Esc cancels"


class BranchUI:
    """Edit mode and the branch actions of one app."""

    def __init__(self, app: IkigaiApp) -> None:
        self.app = app
        self.editing: int | None = None
        """The prompt being edited (its id), or ``None``."""
        self._draft = ""

    # -- edit mode ----------------------------------------------------------------------

    def begin_edit(self, message_id: int | None, text: str) -> None:
        """Put prompt ``message_id``'s ``text`` in the input; Enter sends a new version."""
        app = self.app
        if app.busy:
            app.note(BUSY_NOTE.format(what="editing"), warning=True)
            return
        if message_id is None:
            app.note("this prompt is not stored (yet), so it has no versions", warning=True)
            return
        field = app.prompt_input
        if self.editing is None:
            self._draft = field.text
        self.editing = message_id
        field.set_text(text)
        field.border_title = EDIT_TITLE.format(id=message_id)
        field.focus()

    def cancel_edit(self) -> bool:
        """Leave edit mode, giving the input back what was typed before (False: not editing)."""
        if self.editing is None:
            return False
        self._leave_edit()
        return True

    def _leave_edit(self) -> None:
        field = self.app.prompt_input
        self.editing = None
        field.border_title = None
        field.set_text(self._draft)
        self._draft = ""

    async def turn_for(self, prompt: str) -> Turn | None:
        """The turn that sends ``prompt``: a new version of the prompt being edited, or
        the next prompt (``None``, with a note, when the edit cannot be made)."""
        from ikigai.engine.conversation import ConversationError

        conversation = self.app.conversation
        editing = self.editing
        if editing is None:
            return conversation.send(prompt)
        self._leave_edit()
        try:
            return await conversation.edit(editing, prompt)
        except ConversationError as exc:
            self.app.note(f"could not edit: {exc}", warning=True)
            self.app.prompt_input.set_text(prompt)
            return None

    def selected(self, kind: str | None = None) -> int | None:
        """The stored id of the message selected in the scrollback (``kind="answer"``:
        only when it is an answer), or ``None``."""
        widget = self.app.scrollback.selected
        if widget is None or (kind == "answer" and isinstance(widget, UserMessage)):
            return None
        return row_id(widget)

    # -- the other actions ----------------------------------------------------------------

    async def regenerate(self, message_id: int | None = None, model: str | None = None) -> None:
        """Answer again in place of answer ``message_id`` (default: the last one)."""
        app = self.app
        if app.busy:
            app.note(BUSY_NOTE.format(what="regenerating"), warning=True)
            return
        if app.current_run.missing_key_message():
            app.note(app.current_run.missing_key_message() or "", warning=True)
            return
        app.start(await app.conversation.regenerate(message_id, model=model))

    async def switch(self, choice: VersionChoice, message_id: int | None = None) -> None:
        """Show another version of ``message_id`` (default: the last message with some)."""
        from ikigai.engine.conversation import PAGE
        from ikigai.tui.widgets.restore import views_from_rows

        app = self.app
        if app.busy:
            app.note(BUSY_NOTE.format(what="switching versions"), warning=True)
            return
        move = await app.conversation.switch_branch(choice, message_id)
        scrollback = app.scrollback
        found = scrollback.cut_from(move.replaced)
        rows = move.rows
        if not found or len(rows) > 2 * PAGE:
            scrollback.clear_messages()
            rows = rows[-PAGE:]
            app.oldest_shown = rows[0].id
            scrollback.has_earlier = rows[0].parent_id is not None
        await scrollback.mount_all(views_from_rows(rows, app.advise), before=scrollback.marker)
        shown = next((w for w in scrollback.selectable() if row_id(w) == rows[0].id), None)
        if shown is not None and scrollback.selected is None and message_id is not None:
            scrollback.select(shown)
        await self.refresh_versions()

    async def fork(self) -> None:
        """Copy the current path into a new conversation and continue there."""
        from ikigai.tui.switching import show_opened

        app = self.app
        if app.busy:
            app.note(BUSY_NOTE.format(what="forking"), warning=True)
            return
        source = app.conversation.id
        opened = await app.conversation.fork()
        await show_opened(app, opened, f"forked conversation #{source} into #{opened.id}")

    async def refresh_versions(self) -> None:
        """Show ``‹ i/n ›`` under each message of the scrollback that has versions."""
        scrollback = self.app.scrollback
        rows: list[RowRef | int | None] = []
        for child in scrollback.children:
            row = getattr(child, "row", None) if isinstance(child, VERSIONED) else None
            rows.append(row.id if isinstance(row, StoredRow) else row)
        versions = await self.app.conversation.versions(rows)
        show_versions(scrollback, list(scrollback.children), VERSIONED, versions)

    # -- from the scrollback ----------------------------------------------------------------

    async def on_action(self, action: MessageNavigation.MessageAction) -> None:
        """A key on a selected message (see ``tui.widgets.navigation``)."""
        app = self.app
        widget = action.widget
        if action.action == "leave" or widget is None:
            app.prompt_input.focus()
            return
        if action.action == "thinking":
            from ikigai.tui.thinking_marks import open_thinking

            open_thinking(app, widget)
        elif action.action == "edit":
            if isinstance(widget, UserMessage):
                self.begin_edit(action.row, widget.text)
            else:
                app.note("only a prompt can be edited: r regenerates an answer", warning=True)
        elif action.action == "regenerate":
            if isinstance(widget, UserMessage):
                app.note("only an answer can be regenerated: e edits a prompt", warning=True)
            elif action.row is None:
                app.note("this answer is not stored (yet), so it has no versions", warning=True)
            else:
                await self.regenerate(action.row)
        elif action.row is not None:
            step: VersionChoice = "next" if action.action == "next_version" else "prev"
            await self.switch(step, action.row)

    def on_cut(self, cut: MessageNavigation.PathCut) -> None:
        """A new branch took messages off the screen: load what is above when nothing is."""
        from ikigai.tui.switching import load_earlier

        app = self.app
        if not cut.found:
            app.oldest_shown = cut.replaces
            app.scrollback.has_earlier = True
        if cut.first and app.scrollback.has_earlier:
            app.run_worker(load_earlier(app), group="open", exit_on_error=False)

    def turn_ended(self) -> None:
        """After a turn: the indicators of what it added (and of its branch point)."""
        self.app.run_worker(self.refresh_versions(), group="versions", exit_on_error=False)


class BranchActions(App[int]):
    """The app's branch keys and the scrollback's requests (a mixin of ``IkigaiApp``)."""

    @cached_property
    def branches(self) -> BranchUI:
        """Edit mode and the branch actions of this app."""
        from ikigai.tui.app import IkigaiApp

        assert isinstance(self, IkigaiApp)
        return BranchUI(self)

    def action_select_previous(self) -> None:
        """Alt+Up: select the previous message (the last one, from the input)."""
        self.branches.app.scrollback.step_selection(-1)

    def action_select_next(self) -> None:
        """Alt+Down: select the next message (past the last one: back to the input)."""
        scrollback = self.branches.app.scrollback
        if scrollback.selected is not None and not scrollback.step_selection(1):
            self.branches.app.prompt_input.focus()

    async def on_message_navigation_message_action(
        self, message: MessageNavigation.MessageAction
    ) -> None:
        await self.branches.on_action(message)

    def on_message_navigation_path_cut(self, message: MessageNavigation.PathCut) -> None:
        self.branches.on_cut(message)
