"""Starting the app: the run configuration from the flags, the database, the conversation.

A bad profile or model never keeps the app from opening: it falls back to the
default profile and says why. A database that cannot be opened (a directory,
garbage, read-only, locked) does not either: the app says so and answers
prompts unsaved.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ikigai.engine.settings import ConfigError, RunConfig, Settings, resolve_run

if TYPE_CHECKING:
    from ikigai.engine.conversation import Conversation
    from ikigai.tui.app import IkigaiApp


@dataclass(frozen=True, slots=True)
class Launch:
    """What the command line asked of the app besides the run configuration."""

    db: str | None = None
    """``--db``: the database file."""
    base_url: str | None = None
    """``--base-url``: applies while the provider is the one it was given for."""
    no_key: bool = False
    """``--no-key``: that provider needs no API key."""
    resume: int | str | None = None
    """A conversation id to open, ``"last"`` for the newest, or ``None`` for a new one."""


BUSY_TIMEOUT_MS = 1000
"""The app's SQLite busy timeout: the writer retries on its own, and a browse
(the picker) never waits long behind a locked write."""


def initial_run(settings: Settings, args: Any) -> tuple[RunConfig, str | None]:
    """The run configuration from the flags, and a problem to show on screen (or None)."""
    try:
        return (
            resolve_run(
                settings,
                profile=args.profile,
                model=args.model,
                thinking=args.thinking,
                base_url=args.base_url,
                system_prompt=getattr(args, "system", None),
                no_key=getattr(args, "no_key", False),
                require_key=False,
            ),
            None,
        )
    except ConfigError as exc:
        problem = str(exc)
    try:
        return resolve_run(settings, base_url=args.base_url, require_key=False), problem
    except ConfigError:
        return resolve_run(settings, require_key=False), problem


async def open_session(app: IkigaiApp) -> None:
    """Create the app's conversation and show the one to resume, or a welcome."""
    from ikigai.tui.gc_policy import POLICY

    conversation = await open_conversation(app)
    app.attach(conversation)
    conversation.start_mcp()
    target = app.launch.resume
    if target == "last" and conversation.db is not None:
        target = await conversation.db.newest_conversation_id()
    # What start-up built is frozen before a stored conversation is laid out, so the full
    # collections its many new objects bring about walk only those (``tui.gc_policy``).
    POLICY.settle()
    if not (isinstance(target, int) and await app.show_conversation(target)):
        app.welcome()
    app.call_after_refresh(warm_up)


def warm_up() -> None:
    """Load what the first answer is rendered with (Rich's Markdown, the block parser) now,
    while the user types, so the first frame of the first answer does not import it; then
    freeze what start-up built (``tui.gc_policy``)."""
    from ikigai.tui.gc_policy import POLICY
    from ikigai.tui.widgets.markdown_blocks import parser

    parser()
    POLICY.settle()


async def close_session(app: IkigaiApp) -> None:
    """Save what is pending (a few seconds at most) and close; once, however the app ends."""
    from ikigai.tui.gc_policy import POLICY

    POLICY.close()
    conversation = app._conversation
    if conversation is None or app.closed:
        return
    app.closed = True
    if not await conversation.close(5.0):
        problem = conversation.storage_problem or "the database did not answer in time"
        app.unsaved_at_exit = f"the last messages were not saved: {problem}"


async def open_conversation(app: IkigaiApp) -> Conversation:
    """The app's conversation: stored in the database when it opens, unsaved otherwise."""
    from ikigai.engine.conversation import Conversation, ToolAccess
    from ikigai.storage.errors import StorageError
    from ikigai.storage.paths import resolve_db_path
    from ikigai.storage.repository import Database
    from ikigai.tui.screens.approval import ask

    db: Database | None = None
    path = resolve_db_path(app.launch.db, os.environ, app.settings.storage.path)
    try:
        db = await Database.open(path, busy_timeout_ms=BUSY_TIMEOUT_MS)
    except StorageError as exc:
        app.problems.append(f"storage unavailable: {exc} — this session is not saved")
    conversation = Conversation(
        app.settings,
        app.initial_run,
        db=db,
        tools=ToolAccess(approver=functools.partial(ask, app)),
        on_notice=app.on_engine_notice,
        base_url=app.launch.base_url,
        no_key=app.launch.no_key,
    )
    app.problems.extend(conversation.problems)
    return conversation


def build_app(settings: Settings, args: argparse.Namespace, **options: Any) -> IkigaiApp:
    """The app for ``settings`` and the CLI flags (tests pass ``clock``/``history``)."""
    from ikigai.tui.app import IkigaiApp

    run, problem = initial_run(settings, args)
    resume: int | str | None = None
    if getattr(args, "conversation", None) is not None:
        resume = int(args.conversation)
    elif getattr(args, "continue_last", False) or settings.ui.on_start == "resume":
        resume = "last"
    return IkigaiApp(
        settings,
        run,
        launch=Launch(
            db=getattr(args, "db", None),
            base_url=getattr(args, "base_url", None),
            no_key=getattr(args, "no_key", False),
            resume=resume,
        ),
        problems=[problem] if problem else [],
        **options,
    )


def run_app(args: argparse.Namespace) -> int:
    """Open the full-screen app with the CLI's flags; returns the exit status."""
    from ikigai.engine.config_loader import load_settings

    try:
        settings, _ = load_settings(args.config)
    except ConfigError as exc:
        print(f"ikigai: {exc}", file=sys.stderr)
        return 2
    from ikigai.tui.input_thread import input_thread_first

    app = build_app(settings, args)
    with input_thread_first():
        result = app.run()
    if app.unsaved_at_exit:
        from ikigai.engine.textsafety import neutralize

        print(f"ikigai: {neutralize(app.unsaved_at_exit)}", file=sys.stderr)
        if not app.return_code:
            return 2
    return app.return_code or int(result or 0)
