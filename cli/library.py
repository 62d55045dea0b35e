"""``ikigai history`` and ``ikigai export``: reading stored conversations from the shell.

Every line is tab-separated with the free text last, so scripts can cut it.
Message ids (for ``ikigai -p ... --from ID``) are in ``history ID`` (the
messages of one conversation) and at the end of each ``--search`` hit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ikigai.cli.exits import EXIT_OK, UsageError, fail, write_out

if TYPE_CHECKING:
    from ikigai.storage.models import SearchHit
    from ikigai.storage.repository import Database

    DatabaseAction = Callable[[Database, argparse.Namespace], Awaitable[int]]


HISTORY_HELP = (
    "List recent conversations (newest first), search every message (--search: one "
    "line per conversation, its best match first), or list the messages of one "
    "conversation (ID) with the message ids that -p --from takes."
)
EXPORT_HELP = (
    "Write one conversation as a document: Markdown to read, or JSON with every "
    "message and its metadata. The current branch, or every branch with --all-branches. "
    "On a terminal, control characters are shown, not sent; a file or a pipe gets the "
    "stored text unchanged."
)


def history_command(argv: list[str]) -> int:
    """``ikigai history [ID [--all-branches]] [--search TEXT] [--limit N]``: recent
    conversations, search hits, or the messages of conversation ID."""
    parser = argparse.ArgumentParser(prog="ikigai history", description=HISTORY_HELP)
    parser.add_argument(
        "id", type=int, nargs="?", help="list this conversation's messages (current branch)"
    )
    parser.add_argument(
        "--all-branches", action="store_true", help="with ID: every branch, not only the current"
    )
    parser.add_argument("--search", help="full-text search through every message")
    parser.add_argument("--limit", type=int, default=20, help="at most N lines (default 20)")
    parser.add_argument("--db", help="SQLite database file")
    parser.add_argument("--config", help="config file")
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.all_branches and args.id is None:
        parser.error("--all-branches needs a conversation ID")
    if args.id is not None and args.search:
        parser.error("give a conversation ID or --search, not both")
    return _with_database(args, _print_messages if args.id is not None else _print_history)


async def _print_history(db: Database, args: argparse.Namespace) -> int:
    from ikigai.engine.textsafety import neutralize

    out = sys.stdout
    if args.search:
        for conversation_id, hits in await _hits_by_conversation(db, args.search, args.limit):
            best = hits[0]
            title = best.title or "(untitled)"
            more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
            line = f"{conversation_id}\t{title}\t{best.snippet}\tmessage {best.message_id}{more}"
            out.write(neutralize(line) + "\n")
        return EXIT_OK
    for conversation in await db.list_conversations(limit=args.limit):
        title = conversation.title or "(untitled)"
        count = f"{conversation.message_count} messages"
        if conversation.forked_from is not None:
            count += f" (fork of {conversation.forked_from})"
        line = (
            f"{conversation.id}\t{conversation.updated_at}\t{conversation.model or '-'}\t"
            f"{count}\t{format_cost(conversation.cost_usd, conversation.cost_partial)}\t{title}"
        )
        out.write(neutralize(line) + "\n")
    return EXIT_OK


async def _hits_by_conversation(
    db: Database, text: str, limit: int
) -> list[tuple[int, list[SearchHit]]]:
    """Search hits grouped by conversation, best first, at most ``limit`` conversations.

    Hits come ranked by relevance; a conversation appears once, where its best
    hit ranks, with its other hits counted.
    """
    grouped: dict[int, list[SearchHit]] = {}
    for hit in await db.search(text, limit=max(limit * 20, 200)):
        if hit.conversation_id in grouped:
            grouped[hit.conversation_id].append(hit)
        elif len(grouped) < limit:
            grouped[hit.conversation_id] = [hit]
    return list(grouped.items())


async def _print_messages(db: Database, args: argparse.Namespace) -> int:
    """One line per message: id, parent id, kind, version (``2/3``) and its first line."""
    from ikigai.engine.textsafety import neutralize

    if await db.get_conversation(args.id) is None:
        raise UsageError(f"no conversation {args.id} in {db.path}")
    if args.all_branches:
        rows = await db.all_messages(args.id)
    else:
        rows = await db.path_messages(args.id, await db.current_leaf(args.id))
    nodes = [row.id for row in rows if row.kind != "tool_call"]
    versions = await db.versions(args.id, nodes)
    out = sys.stdout
    for row in rows:
        version = versions.get(row.id)
        shown = f"{version.index}/{version.count}" if version and version.count > 1 else "-"
        text = row.content.strip().splitlines()[0] if row.content.strip() else ""
        if len(text) > 80:
            text = text[:79] + "…"
        parent = str(row.parent_id) if row.parent_id is not None else "-"
        out.write(neutralize(f"{row.id}\t{parent}\t{row.kind}\t{shown}\t{text}") + "\n")
    return EXIT_OK


def format_cost(cost_usd: float | None, partial: bool = False) -> str:
    """``$0.0123``; ``≥$0.0123`` when some answer had no known price; ``-`` when none had."""
    if cost_usd is None:
        return "-"
    return f"{'≥' if partial else ''}${cost_usd:.4f}"


def export_command(argv: list[str]) -> int:
    """``ikigai export ID [--format md|json] [--all-branches] [-o FILE]``: one conversation
    as a document (its current branch, or every branch)."""
    parser = argparse.ArgumentParser(prog="ikigai export", description=EXPORT_HELP)
    parser.add_argument("id", type=int, help="conversation id (see 'ikigai history')")
    parser.add_argument(
        "--format",
        choices=("md", "json"),
        default="md",
        help="md: a readable Markdown document (default); json: every message with its "
        "metadata, for scripts and backups",
    )
    parser.add_argument(
        "--all-branches",
        action="store_true",
        help="the whole tree (JSON keeps parent ids; Markdown gets a heading per branch)",
    )
    parser.add_argument("-o", "--output", help="write to FILE instead of stdout")
    parser.add_argument("--db", help="SQLite database file")
    parser.add_argument("--config", help="config file")
    args = parser.parse_args(argv)
    return _with_database(args, _export)


async def _export(db: Database, args: argparse.Namespace) -> int:
    from ikigai.engine.conversation import UnknownConversation, export_text

    try:
        text = await export_text(db, args.id, args.format, all_branches=args.all_branches)
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
        # In pieces: a write the reader abandons halfway returns short without an error,
        # and only the next one learns that the pipe is closed.
        for start in range(0, len(text), WRITE_PIECE):
            sys.stdout.write(text[start : start + WRITE_PIECE])
    return EXIT_OK


WRITE_PIECE = 1 << 16
"""Characters per write of an export to stdout."""


def _with_database(args: argparse.Namespace, action: DatabaseAction) -> int:
    from ikigai.cli.prompt import open_database
    from ikigai.engine.config_loader import load_settings
    from ikigai.engine.settings import ConfigError

    try:
        settings, _ = load_settings(args.config)
    except ConfigError as exc:
        return fail(str(exc))

    async def main() -> int:
        db = await open_database(settings, args.db, must_exist=True)
        try:
            return await action(db, args)
        finally:
            await db.close()

    try:
        return write_out(lambda: asyncio.run(main()))
    except UsageError as exc:
        return fail(str(exc))
