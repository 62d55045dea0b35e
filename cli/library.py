"""``ikigai history`` and ``ikigai export``: reading stored conversations from the shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ikigai.cli.exits import EXIT_OK, UsageError, fail

if TYPE_CHECKING:
    from ikigai.storage.repository import Database

    DatabaseAction = Callable[[Database, argparse.Namespace], Awaitable[int]]


def history_command(argv: list[str]) -> int:
    """``ikigai history [--search TEXT] [--limit N]``: recent conversations (id, last
    activity, model, messages, cost, title) or search hits."""
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
            f"{conversation.message_count} messages\t"
            f"{format_cost(conversation.cost_usd, conversation.cost_partial)}\t{title}"
        )
        out.write(neutralize(line) + "\n")
    return EXIT_OK


def format_cost(cost_usd: float | None, partial: bool = False) -> str:
    """``$0.0123``; ``≥$0.0123`` when some answer had no known price; ``-`` when none had."""
    if cost_usd is None:
        return "-"
    return f"{'≥' if partial else ''}${cost_usd:.4f}"


def export_command(argv: list[str]) -> int:
    """``ikigai export ID [--format md|json] [-o FILE]``: one conversation as a document."""
    parser = argparse.ArgumentParser(prog="ikigai export", description=export_command.__doc__)
    parser.add_argument("id", type=int, help="conversation id (see 'ikigai history')")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("-o", "--output", help="write to FILE instead of stdout")
    parser.add_argument("--db", help="SQLite database file")
    parser.add_argument("--config", help="config file")
    args = parser.parse_args(argv)
    return _with_database(args, _export)


async def _export(db: Database, args: argparse.Namespace) -> int:
    from ikigai.engine.conversation import UnknownConversation, export_text

    try:
        text = await export_text(db, args.id, args.format)
    except UnknownConversation as exc:
        raise UsageError(str(exc)) from None
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
    from ikigai.cli.prompt import open_database
    from ikigai.engine.config_loader import load_settings
    from ikigai.engine.settings import ConfigError

    try:
        settings, _ = load_settings(args.config)
    except ConfigError as exc:
        return fail(str(exc))

    async def main() -> int:
        db = await open_database(settings, args.db)
        try:
            return await action(db, args)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except UsageError as exc:
        return fail(str(exc))
