"""``ikigai -p PROMPT``: one headless turn, driven through the engine's ``Conversation``.

The front end only assembles the prompt (stdin appended), resolves the
configuration, picks the conversation to continue (``-c`` and
``--conversation``: its most recently updated branch; ``--from MESSAGE_ID``: a
new branch after that message) and writes what the turn yields: the answer
(or every event as JSONL, with a ``stored`` line per stored message) to
stdout, notices to stderr. Everything else (context, tools, storage) is the
engine's.

Storage is strict here: a prompt that cannot be stored is not sent (exit 2),
and an answer that could not be stored completely is still printed whole,
followed by one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ikigai.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_HANGUP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UsageError,
    fail,
)

if TYPE_CHECKING:
    from ikigai.cli.headless import HeadlessWriter
    from ikigai.engine.conversation import Conversation
    from ikigai.engine.settings import RunConfig, Settings
    from ikigai.storage.repository import Database


def read_prompt(prompt: str) -> str:
    """``prompt`` with standard input appended when stdin is not a terminal."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return prompt
    try:
        if stdin.isatty():
            return prompt
        piped = stdin.buffer.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return prompt
    if not piped:
        return prompt
    return f"{prompt}\n\n{piped}" if prompt else piped


def run_headless_command(args: argparse.Namespace) -> int:
    """Resolve the configuration and run one headless turn; returns the exit status."""
    from ikigai.engine.config_loader import load_settings
    from ikigai.engine.settings import ConfigError, resolve_run

    if args.no_store and (args.continue_last or args.conversation is not None):
        return fail("--no-store cannot be combined with --continue or --conversation")
    if args.from_message is not None and (
        args.no_store or args.continue_last or args.conversation is not None
    ):
        return fail(
            "--from picks the conversation itself: it cannot be combined with "
            "--no-store, --continue or --conversation"
        )
    prompt = read_prompt(args.prompt)
    if not prompt.strip():
        return fail("error: the prompt is empty")
    try:
        settings, _ = load_settings(args.config)
        run = resolve_run(
            settings,
            profile=args.profile,
            model=args.model,
            thinking=args.thinking,
            base_url=args.base_url,
            max_turns=args.max_turns,
            system_prompt=args.system,
            no_key=args.no_key,
        )
    except ConfigError as exc:
        return fail(str(exc))
    stopped = StopSignals()
    try:
        return asyncio.run(stopped.run(_headless(args, settings, run, prompt)))
    except UsageError as exc:
        return fail(str(exc))
    except (KeyboardInterrupt, asyncio.CancelledError):
        # The turn was cancelled first: the partial answer is stored.
        print(f"\nikigai: {stopped.describe()}", file=sys.stderr)
        return stopped.exit_status


class StopSignals:
    """SIGTERM and SIGHUP end a headless run the way Ctrl+C does.

    The running turn is cancelled (so the partial answer is stored as
    interrupted) and the exit status is the shell's ``128 + signal``.
    """

    def __init__(self) -> None:
        self.received: int | None = None

    async def run(self, main: Coroutine[Any, Any, int]) -> int:
        import signal

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop(signum: int) -> None:
            if self.received is None:
                self.received = signum
                task.cancel()

        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await main
        finally:
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)

    @property
    def exit_status(self) -> int:
        import signal

        if self.received == signal.SIGTERM:
            return EXIT_TERMINATED
        if self.received == signal.SIGHUP:
            return EXIT_HANGUP
        return EXIT_INTERRUPTED

    def describe(self) -> str:
        import signal

        if self.received is None:
            return "interrupted"
        return f"interrupted ({signal.Signals(self.received).name})"


async def open_database(
    settings: Settings, db_flag: str | None, *, must_exist: bool = False
) -> Database:
    """The database from ``--db``, ``IKIGAI_DB``, the config or the default; ``UsageError``
    (exit 2) when it cannot be used, or with ``must_exist`` when there is no such file
    (reading commands must not create an empty database at a mistyped path)."""
    from ikigai.storage.errors import StorageError
    from ikigai.storage.paths import resolve_db_path
    from ikigai.storage.repository import Database

    path = resolve_db_path(db_flag, os.environ, settings.storage.path)
    if must_exist and not path.exists():
        raise UsageError(f"no database at {path} (nothing has been stored there)")
    try:
        return await Database.open(
            path, busy_timeout_ms=round(settings.storage.busy_timeout * 1000)
        )
    except StorageError as exc:
        raise UsageError(str(exc)) from None


async def _headless(
    args: argparse.Namespace, settings: Settings, run: RunConfig, prompt: str
) -> int:
    from ikigai.cli.headless import HeadlessWriter, stdout_is_terminal
    from ikigai.engine.conversation import Conversation, ConversationError, ToolAccess
    from ikigai.engine.settings import ConfigError
    from ikigai.engine.tools.policy import PolicyError, parse_allow

    try:
        servers = settings.mcp.servers
        allowed = parse_allow(args.allow, mcp_servers=servers) if args.allow else frozenset[str]()
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    writer = HeadlessWriter(args.output, sys.stdout, sys.stderr, sanitize=stdout_is_terminal())
    db = None if args.no_store else await open_database(settings, args.db)
    try:
        conversation = Conversation(
            settings,
            run,
            db=db,
            tools=ToolAccess(allowed=allowed),
            on_notice=writer.notice,
            prompt_must_be_stored=True,
            prompt_wait=_storage_wait(settings),
            base_url=args.base_url,
            no_key=args.no_key,
            strict=True,
            report_rows=args.output == "jsonl",
        )
    except ConfigError as exc:
        if db is not None:
            await db.close()
        raise UsageError(str(exc)) from None
    from ikigai.engine.collector import resume_after_startup

    resume_after_startup()  # what start-up built is frozen; the turn's garbage is collected
    try:
        status = await _run_turn(args, conversation, writer, prompt)
    except (ConversationError, UsageError) as exc:
        writer.finish()
        await conversation.close(0)
        raise UsageError(str(exc)) from None
    writer.finish()
    saved = await conversation.close(_storage_wait(settings))
    if not saved:
        problem = conversation.storage_problem or "storage failed"
        writer.error_line(f"error: the conversation was not stored completely: {problem}")
        return status if status != EXIT_OK else EXIT_USAGE
    if status == EXIT_OK and writer.closed:
        return EXIT_BROKEN_PIPE
    return status


async def _run_turn(
    args: argparse.Namespace, conversation: Conversation, writer: HeadlessWriter, prompt: str
) -> int:
    if args.from_message is not None:
        await conversation.continue_from(int(args.from_message))
    elif args.conversation is not None:
        await conversation.open(int(args.conversation), branch="newest")
    elif args.continue_last and await conversation.open_newest(branch="newest") is None:
        raise UsageError(f"no conversation to continue in {_db_path(conversation)}")
    if is_compact_command(args.prompt):
        return await _compact(args, conversation, writer, prompt)
    warning = conversation.model_warning()
    if warning:
        writer.warn(warning)
    from ikigai.providers.events import Done

    # Only the -p argument attaches files: piped input is data, and an @ in it is text.
    turn = conversation.send(prompt, attachments=_mentions(args.prompt))
    try:
        async for event in turn:
            cost = None
            if type(event) is Done and turn.accumulator is not None:
                cost = conversation.response_cost(turn.accumulator)
            writer(turn.response_number, event, cost)
    except asyncio.CancelledError:
        writer.finish()
        await conversation.close(_storage_wait(conversation.settings))
        raise
    outcome = turn.outcome
    assert outcome is not None
    if outcome.error is not None:
        from ikigai.engine.compaction import is_context_overflow

        hint = ""
        if is_context_overflow(outcome.error):
            hint = (
                "the conversation no longer fits the model's context window: "
                "'ikigai -c -p /compact' summarizes it"
            )
        writer.error(outcome.error, hint)
        return EXIT_FAILURE
    if outcome.status == "max_turns":
        writer.warn(f"stopped after {outcome.responses} model responses (--max-turns)")
    return EXIT_OK


def _mentions(prompt: str) -> list[str]:
    """The ``@path`` mentions of the ``-p`` argument (none without an ``@``, and then
    the attachment machinery is not loaded)."""
    if "@" not in prompt:
        return []
    from ikigai.engine.attachments import mentions

    return mentions(prompt)


COMPACT_COMMAND = "/compact"


def is_compact_command(prompt: str) -> bool:
    """Whether the ``-p`` argument asks to compact the conversation instead of a turn."""
    head = prompt.strip()
    return head == COMPACT_COMMAND or head.startswith(COMPACT_COMMAND + " ")


async def _compact(
    args: argparse.Namespace, conversation: Conversation, writer: HeadlessWriter, prompt: str
) -> int:
    """``ikigai -c -p "/compact [instructions]"``: summarize the continued conversation
    (with ``--from``, the path up to that message, as a new branch after it)."""
    if args.conversation is None and not args.continue_last and args.from_message is None:
        raise UsageError(
            "/compact needs a conversation to compact: add -c, --conversation ID "
            "or --from MESSAGE_ID"
        )
    from ikigai.engine.conversation import CompactionError

    instructions = prompt.strip().removeprefix(COMPACT_COMMAND).strip()
    try:
        compacted = await conversation.compact(instructions or None)
    except CompactionError as exc:  # the provider or the network failed
        writer.error_line(f"error: {exc}")
        return EXIT_FAILURE
    writer.summary(compacted.summary)
    return EXIT_OK


def _storage_wait(settings: Settings) -> float:
    """How long to wait for storage (a database another process keeps locked): the
    configured ``[storage] busy_timeout``; the writer retries throughout."""
    return settings.storage.busy_timeout


def _db_path(conversation: Conversation) -> str:
    return str(conversation.db.path) if conversation.db is not None else "the database"
