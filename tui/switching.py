"""Moving the app between conversations: a new one, a stored one, earlier pages.

The engine's ``Conversation`` does the work (``new``, ``open``,
``load_earlier``); this module keeps the screen in step: the scrollback is
cleared or filled from stored rows (the path to the conversation's leaf, or
with ``at`` the branch holding a search hit), the turn id is bumped so late
events of an old turn are dropped, and the status bar shows the opened
conversation's numbers once its context is rebuilt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.engine.conversation import Opened
    from ikigai.tui.app import IkigaiApp


async def new_conversation(app: IkigaiApp) -> None:
    """Cancel any running turn and start a new, empty conversation."""
    await app.cancel_and_wait()
    await app.ready.wait()
    app.branches.cancel_edit()
    app.turn_id += 1
    app.spinner.stop()  # how the last turn ended belongs to the last conversation
    app.scrollback.clear_messages()
    app.thinking_pane.view.clear()
    app.scrollback.has_earlier = False
    await app.conversation.new()
    app.welcome()


async def show_conversation(app: IkigaiApp, conversation_id: int, at: int | None = None) -> bool:
    """Open a stored conversation (at the branch holding message ``at``, if given): its
    last messages first, then (in the engine) its context. False (with a note) when it
    cannot be opened."""
    from ikigai.engine.conversation import ConversationError

    await app.cancel_and_wait()
    try:
        opened = await app.conversation.open(conversation_id, at=at)
    except ConversationError as exc:
        app.note(f"{exc}; this is a new conversation", warning=True)
        return False
    await show_opened(app, opened, f"resumed conversation #{conversation_id}", at=at)
    return True


async def show_opened(app: IkigaiApp, opened: Opened, note: str, at: int | None = None) -> None:
    """Fill the screen with a conversation the engine just opened (``at``: scroll to it)."""
    from ikigai.tui.widgets.restore import views_from_rows
    from ikigai.tui.widgets.rows import row_id

    app.branches.cancel_edit()
    app.turn_id += 1
    app.spinner.stop()
    scrollback = app.scrollback
    scrollback.clear_messages()
    app.thinking_pane.view.clear()
    app.oldest_shown = opened.rows[0].id if opened.rows else None
    scrollback.has_earlier = opened.has_earlier
    views = views_from_rows(opened.rows, app.advise)
    await scrollback.mount_all(views, before=scrollback.marker)
    hit = next((view for view in views if at is not None and row_id(view) == at), None)
    if hit is not None:
        scrollback.call_after_refresh(scrollback.scroll_to_widget, hit, animate=False)
    else:
        scrollback.anchor()
    scrollback.note(note)
    app.show_problems()
    app.run_worker(_status_once_ready(app), group="open", exit_on_error=False)


async def _status_once_ready(app: IkigaiApp) -> None:
    """The opened conversation's token totals and cost once its context is rebuilt (before
    the version lines, so a slow or failing version query cannot keep the bar at zero)."""
    await app.conversation.ready()
    app.update_status()
    await app.branches.refresh_versions()


async def load_earlier(app: IkigaiApp) -> None:
    """Prepend the page of messages before the oldest one shown."""
    from ikigai.tui.widgets.restore import views_from_rows

    if app.oldest_shown is None:
        return
    rows = await app.conversation.load_earlier(app.oldest_shown)
    app.scrollback.has_earlier = bool(rows) and rows[0].parent_id is not None
    if rows:
        app.oldest_shown = rows[0].id
        below = bool(app.scrollback.query(".compacted-divider"))
        app.scrollback.prepend(views_from_rows(rows, app.advise, compacted_below=below))
        await app.branches.refresh_versions()


def show_picker(app: IkigaiApp) -> None:
    """The conversation picker; the chosen conversation is opened."""
    from ikigai.tui.screens.picker import PickerScreen

    db = app.conversation.db if app.ready.is_set() else None
    if db is None:
        app.note("conversations are not stored in this session", warning=True)
        return
    current = app.conversation.id

    def chosen(choice: tuple[int, int | None] | None) -> None:
        if choice is None:
            return
        conversation_id, message = choice
        if conversation_id != current or message is not None:
            app.run_worker(show_conversation(app, conversation_id, message), group="open")

    async def delete(conversation_id: int) -> None:
        await delete_conversation(app, conversation_id)

    app.push_screen(PickerScreen(db, current, delete=delete), chosen)


async def delete_conversation(app: IkigaiApp, conversation_id: int) -> None:
    """Delete stored conversation ``conversation_id`` (the picker's Ctrl+D).

    The open conversation is first replaced by a new one (a running turn is
    cancelled and stored), and what it still had to store is stored, so no row
    is ever written to a conversation that no longer exists.
    """
    if conversation_id == app.conversation.id:
        await new_conversation(app)
        await app.conversation.saved()
    db = app.conversation.db
    if db is None:
        return
    await db.delete_conversation(conversation_id)
    app.note(f"deleted conversation #{conversation_id}")
