"""Moving the app between conversations: a new one, a stored one, earlier pages.

The engine's ``Conversation`` does the work (``new``, ``open``,
``load_earlier``); this module keeps the screen in step: the scrollback is
cleared or filled from stored rows (the path to the conversation's leaf, or
with ``at`` the branch holding a search hit), the turn id is bumped so late
events of an old turn are dropped, and the status bar shows the opened
conversation's numbers once its context is rebuilt.

An opened conversation's page is mounted from its end: the last
``FIRST_VIEWS`` messages (more than a screen holds) at once, then the earlier
ones above them ``CHUNK`` at a time with a frame painted between, so that
laying out a page of long answers never holds a typed key for long.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.widget import Widget

    from ikigai.engine.conversation import Opened
    from ikigai.tui.app import IkigaiApp

FIRST_VIEWS = 10
"""Message views of an opened page mounted at once: a full screen's worth."""
CHUNK = 4
"""Earlier views of the page mounted together, each group after a painted frame."""


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
    app.oldest_shown = None  # no earlier page while this one is still being mounted
    scrollback.has_earlier = False
    views = views_from_rows(opened.rows, app.advise)
    hit = next((view for view in views if at is not None and row_id(view) == at), None)
    if hit is not None:
        await scrollback.mount_all(views, before=scrollback.marker)
        scrollback.call_after_refresh(scrollback.scroll_to_widget, hit, animate=False)
    else:
        await scrollback.mount_all(views[-FIRST_VIEWS:], before=scrollback.marker)
        scrollback.anchor()
        if not await _mount_above(app, views[:-FIRST_VIEWS], views[-FIRST_VIEWS:], opened):
            return  # another conversation (or a new one) took the screen meanwhile
    app.oldest_shown = opened.rows[0].id if opened.rows else None
    scrollback.has_earlier = opened.has_earlier
    scrollback.note(note)
    app.show_problems()
    app.run_worker(_status_once_ready(app), group="open", exit_on_error=False)


async def _mount_above(
    app: IkigaiApp, views: list[Widget], shown: list[Widget], opened: Opened
) -> bool:
    """Mount ``views`` above ``shown`` (mounted), ``CHUNK`` at a time (the last first), a
    frame after another; False when the screen moved on meanwhile (another conversation,
    a new one, another branch: what was shown is gone)."""
    scrollback = app.scrollback
    top = shown[0] if shown else None
    while views:
        painted = asyncio.Event()
        scrollback.call_after_refresh(painted.set)
        await painted.wait()
        if app.conversation.id != opened.id or top is None or top.parent is not scrollback:
            return False
        top = views[-CHUNK:][0]
        scrollback.prepend(views[-CHUNK:])
        del views[-CHUNK:]
    return True


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
