"""Running ``ikigai -p`` and the ``history`` / ``export`` subcommands.

A headless run: assemble the prompt (stdin appended), resolve configuration,
open the database (unless ``--no-store``) and the conversation to continue,
then run one turn with the built-in tools (``ask`` means deny unless
``--allow`` names the tool), writing events to stdout and to storage.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ikigai.cli.main import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ikigai.engine.settings import Config, RunConfig
    from ikigai.engine.toolloop import ToolLoop
    from ikigai.engine.turns import RunnerEvent
    from ikigai.storage.repository import Database

    DatabaseAction = Callable[[Database, argparse.Namespace], Awaitable[int]]


class UsageError(Exception):
    """A problem with how ikigai was invoked; exit status 2."""


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


def _fail(message: str) -> int:
    print(f"ikigai: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_headless_command(args: argparse.Namespace) -> int:
    """Resolve the configuration and run one headless turn; returns the exit status."""
    from ikigai.engine.settings import ConfigError, load_settings, resolve_run

    if args.no_store and (args.continue_last or args.conversation is not None):
        return _fail("--no-store cannot be combined with --continue or --conversation")
    prompt = read_prompt(args.prompt)
    if not prompt.strip():
        return _fail("error: the prompt is empty")
    try:
        config, _ = load_settings(args.config)
        run = resolve_run(
            config,
            profile=args.profile,
            model=args.model,
            thinking=args.thinking,
            base_url=args.base_url,
            max_turns=args.max_turns,
        )
        tools = _tool_loop(config, args.allow, run)
    except (ConfigError, UsageError) as exc:
        return _fail(str(exc))
    try:
        return asyncio.run(_headless(args, config, run, prompt, tools))
    except UsageError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        # asyncio.run cancelled the turn first: the partial answer is stored.
        print("\nikigai: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _tool_loop(config: Config, allow: list[str], run: RunConfig) -> ToolLoop:
    from ikigai.engine.toolloop import ToolLoop
    from ikigai.engine.tools.base import ToolContext
    from ikigai.engine.tools.policy import PolicyError, parse_allow, parse_policy, resolve_headless

    try:
        policy = parse_policy(config["tools"])
        allowed = parse_allow(allow) if allow else frozenset[str]()
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    context = ToolContext(cwd=Path.cwd(), secret_env_names=frozenset(run.key_env_vars))
    return ToolLoop(None, context, resolve_headless(policy, allowed))


async def _open_database(args: argparse.Namespace, config: Config) -> Database:
    from ikigai.storage.errors import StorageError
    from ikigai.storage.paths import resolve_db_path
    from ikigai.storage.repository import Database

    path = resolve_db_path(args.db, os.environ, config["storage"]["path"])
    try:
        return await Database.open(path)
    except StorageError as exc:
        raise UsageError(str(exc)) from None


async def _conversation(args: argparse.Namespace, db: Database) -> int:
    if args.conversation is not None:
        if await db.get_conversation(args.conversation) is None:
            raise UsageError(f"no conversation {args.conversation} in {db.path}")
        return int(args.conversation)
    if args.continue_last:
        newest = await db.newest_conversation_id()
        if newest is None:
            raise UsageError(f"no conversation to continue in {db.path}")
        return newest
    return await db.create_conversation()


async def _headless(
    args: argparse.Namespace, config: Config, run: RunConfig, prompt: str, tools: ToolLoop
) -> int:
    from ikigai.cli.headless import HeadlessWriter, stdout_is_terminal
    from ikigai.engine.tools.specs import BUILTIN_SPECS
    from ikigai.engine.turns import EventSink, TurnRunner, TurnSettings
    from ikigai.providers.http import close_shared_client
    from ikigai.providers.registry import create_provider
    from ikigai.providers.request import Message

    writer = HeadlessWriter(args.output, sys.stdout, sys.stderr, sanitize=stdout_is_terminal())
    db: Database | None = None
    sink: EventSink = writer
    history: list[Message] = []
    if not args.no_store:
        from ikigai.engine.recording import ConversationRecorder, history_from_messages

        db = await _open_database(args, config)
        try:
            conversation_id = await _conversation(args, db)
            if args.continue_last or args.conversation is not None:
                history = history_from_messages(await db.all_messages(conversation_id))
        except BaseException:
            await db.close()
            raise
        recorder = ConversationRecorder(
            db,
            conversation_id,
            provider=run.provider,
            model=run.model,
            thinking_level=run.thinking,
            profile=run.profile,
        )

        def both(response_number: int, event: RunnerEvent) -> Awaitable[None] | None:
            writer(response_number, event)
            return recorder(response_number, event)

        sink = both
    provider = create_provider(run.provider, run.options)
    warning = provider.model_warning(run.model)
    if warning:
        writer.warn(warning)
    runner = TurnRunner(
        provider,
        TurnSettings(
            model=run.model,
            system=run.system_prompt,
            thinking=run.thinking,
            max_output_tokens=run.max_output_tokens,
            tools=list(BUILTIN_SPECS),
            max_turns=run.max_turns,
        ),
        sink,
        history=history,
        tools=tools,
    )
    try:
        outcome = await runner.run(prompt)
    finally:
        writer.finish()
        await close_shared_client()
        if db is not None:
            await db.close()
    if outcome.error is not None:
        writer.error(outcome.error)
        return EXIT_FAILURE
    if outcome.status == "max_turns":
        writer.warn(f"stopped after {outcome.responses} model responses (--max-turns)")
    return EXIT_OK


# -- subcommands ------------------------------------------------------------------------------


def history_command(argv: list[str]) -> int:
    """``ikigai history [--search TEXT] [--limit N]``: recent conversations or search hits."""
    parser = argparse.ArgumentParser(prog="ikigai history", description=history_command.__doc__)
    parser.add_argument("--search", help="full-text search through every message")
    parser.add_argument("--limit", type=int, default=20, help="at most N rows (default 20)")
    parser.add_argument("--db", help="SQLite database file")
    parser.add_argument("--config", help="config file")
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    return _with_database(args, _print_history)


async def _print_history(db: Database, args: argparse.Namespace) -> int:
    from ikigai.engine.textsafety import neutralize

    out = sys.stdout
    if args.search:
        for hit in await db.search(args.search, limit=args.limit):
            title = hit.title or "(untitled)"
            out.write(neutralize(f"{hit.conversation_id}\t{title}\t{hit.snippet}") + "\n")
        return EXIT_OK
    for conversation in await db.list_conversations(limit=args.limit):
        title = conversation.title or "(untitled)"
        line = (
            f"{conversation.id}\t{conversation.updated_at}\t{conversation.model or '-'}\t"
            f"{conversation.message_count} messages\t{title}"
        )
        out.write(neutralize(line) + "\n")
    return EXIT_OK


def export_command(argv: list[str]) -> int:
    """``ikigai export ID [--format md|json] [-o FILE]``: one conversation as a document.

    Written as stored to FILE or a pipe. On a terminal, Markdown shows control
    characters as ``\\xNN`` (as ``ikigai history`` does) and JSON escapes them.
    """
    parser = argparse.ArgumentParser(prog="ikigai export", description=export_command.__doc__)
    parser.add_argument("id", type=int, help="conversation id (see 'ikigai history')")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("-o", "--output", help="write to FILE instead of stdout")
    parser.add_argument("--db", help="SQLite database file")
    parser.add_argument("--config", help="config file")
    args = parser.parse_args(argv)
    return _with_database(args, _export)


async def _export(db: Database, args: argparse.Namespace) -> int:
    from ikigai.storage.errors import NotFoundError
    from ikigai.storage.export import dumps

    try:
        if args.format == "json":
            text = dumps(await db.export_json(args.id))
        else:
            text = await db.export_markdown(args.id)
    except NotFoundError as exc:
        raise UsageError(str(exc)) from None
    if not text.endswith("\n"):
        text += "\n"
    if args.output:
        try:
            await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        from ikigai.cli.headless import stdout_is_terminal
        from ikigai.engine.textsafety import escape_json_controls, neutralize

        # Raw bytes go only to a file (-o) or a pipe. On a terminal, Markdown shows
        # controls as \xNN; JSON \u-escapes the ones json.dumps leaves, so it stays valid.
        if stdout_is_terminal():
            text = escape_json_controls(text) if args.format == "json" else neutralize(text)
        sys.stdout.write(text)
    return EXIT_OK


def _with_database(args: argparse.Namespace, action: DatabaseAction) -> int:
    from ikigai.engine.settings import ConfigError, load_settings

    try:
        config, _ = load_settings(args.config)
    except ConfigError as exc:
        return _fail(str(exc))

    async def main() -> int:
        db = await _open_database(args, config)
        try:
            return await action(db, args)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except UsageError as exc:
        return _fail(str(exc))
