"""Storage benchmark: 100,000 messages in 1,000 conversations, then a branched tree.

Run ``python bench/storage.py [--conversations N] [--per-conversation M] [--keep PATH]
[--tree-only]``. Reports insert throughput (through the public API, one
transaction per conversation), time to open the database, to list
conversations, to load the newest conversation's last 50 messages, to search,
and the file size. Then a 10,000-message conversation tree whose current path
is 1,000 messages long (the rest are side branches left along the way): the
time to build that path (the indexed query, then the model context from it),
to find the versions of a page, and to find the newest leaf of the whole tree.
``--tree-only`` runs only the tree part. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ikigai.engine.context import rebuild
from ikigai.storage import Database

WORDS = [
    "the",
    "model",
    "answer",
    "stream",
    "token",
    "database",
    "index",
    "search",
    "query",
    "python",
    "async",
    "terminal",
    "widget",
    "render",
    "markdown",
    "thinking",
    "budget",
    "tool",
    "call",
    "result",
    "provider",
    "anthropic",
    "openai",
    "gemini",
    "latency",
    "throughput",
    "cache",
    "context",
    "window",
    "prompt",
    "system",
    "user",
    "assistant",
    "error",
    "retry",
    "network",
    "timeout",
    "json",
    "schema",
    "migration",
    "sqlite",
    "journal",
    "checkpoint",
    "vacuum",
    "page",
]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def plan(conversations: int, per_conversation: int) -> list[list[tuple[str, Any]]]:
    """The messages to insert, generated up front so that only storage is timed."""
    rng = random.Random(42)
    result = []
    for _ in range(conversations):
        messages: list[tuple[str, Any]] = []
        for index in range(per_conversation):
            if index % 2 == 0:
                messages.append((sentence(rng, rng.randint(5, 40)), None))
            else:
                data: dict[str, Any] = {
                    "provider": "anthropic",
                    "model": "claude-sonnet-4-5",
                    "thinking_level": "med",
                    "thinking": sentence(rng, 30),
                    "input_tokens": rng.randint(100, 5000),
                    "output_tokens": rng.randint(10, 800),
                    "total_tokens": 0,
                    "finish_reason": "stop",
                    "provider_data": {"signature": "Eq" + "x" * 120},
                }
                text = "\n\n".join(sentence(rng, rng.randint(10, 60)) for _ in range(3))
                messages.append((text, data))
        result.append(messages)
    result[0][-1] = ("a unique needle zyzzyva here", None)
    return result


async def fill(db: Database, conversations: list[list[tuple[str, Any]]]) -> float:
    """Insert through the public API, one transaction per conversation."""
    started = time.perf_counter()
    for messages in conversations:
        conversation = await db.create_conversation()
        parent: int | None = None
        async with db.transaction():
            for content, data in messages:
                kind = "user" if data is None else "assistant"
                parent = await db.add_message(
                    conversation, kind, content, data=data, parent_id=parent
                )
    return time.perf_counter() - started


async def timed(action: Callable[[], Awaitable[Any]], repeat: int = 20) -> tuple[float, Any]:
    """Median milliseconds over ``repeat`` runs, and the last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def fill_tree(db: Database, path_length: int, total: int) -> tuple[int, int]:
    """A conversation of ``total`` messages whose current path has ``path_length``.

    After each message of the path, a side branch (a regenerated answer or an
    edited prompt, then a few more turns) leaves from it, so the ids of the
    path and of the branches interleave as they do when someone works.
    Returns the conversation and its leaf.
    """
    rng = random.Random(7)
    conversation = await db.create_conversation()
    side_total = total - path_length
    parent: int | None = None
    written = 0
    async with db.transaction():
        for index in range(path_length):
            kind = "user" if index % 2 == 0 else "assistant"
            data = None if kind == "user" else {"model": "m", "input_tokens": 10}
            parent = await db.add_message(
                conversation, kind, sentence(rng, 12), data=data, parent_id=parent
            )
            remaining = path_length - index - 1
            share = (side_total - written) // (remaining + 1) if remaining else side_total - written
            side_parent = parent
            for step in range(share):
                side_kind = "assistant" if (index + step) % 2 == 0 else "user"
                side_parent = await db.add_message(
                    conversation, side_kind, sentence(rng, 12), parent_id=side_parent
                )
            written += share
        assert parent is not None
        await db.set_leaf(conversation, parent)
    return conversation, parent


async def tree_bench(path: Path) -> None:
    db = await Database.open(path)
    conversation, leaf = await fill_tree(db, 1_000, 10_000)
    summary = await db.get_conversation(conversation)
    assert summary is not None

    async def build() -> Any:
        return rebuild(await db.path_messages(conversation, leaf))

    ms, rows = await timed(lambda: db.path_messages(conversation, leaf))
    print(
        f"tree of {summary.message_count:,} messages: path of {len(rows):,} queried in {ms:.2f} ms"
    )
    ms, built = await timed(build)
    print(f"  path of {len(rows):,} built (query + model context): {ms:.2f} ms (target <= 50)")
    assert len(built.context) == 1_000
    ms, page = await timed(lambda: db.path_messages(conversation, leaf, limit=50))
    print(f"  last 50 messages of the path: {ms:.2f} ms")
    ms, versions = await timed(lambda: db.versions(conversation, [r.id for r in page]))
    branched = sum(1 for v in versions.values() if v.count > 1)
    print(f"  versions of those 50 ({branched} with siblings): {ms:.2f} ms")
    root = rows[0].id
    ms, newest = await timed(lambda: db.latest_leaf(root), repeat=5)
    print(f"  newest leaf below the root (walks all {summary.message_count:,}): {ms:.2f} ms")
    assert newest is not None
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--per-conversation", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="write the database here instead of a temp dir")
    parser.add_argument("--tree-only", action="store_true", help="only the branched tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.keep or Path(scratch) / "bench.db"
        if args.tree_only:
            await tree_bench(path)
            return
        total = args.conversations * args.per_conversation
        work = plan(args.conversations, args.per_conversation)
        db = await Database.open(path)
        seconds = await fill(db, work)
        await db.close()
        print(f"inserted {total:,} messages in {seconds:.2f} s: {total / seconds:,.0f} msg/s")

        open_ms, db = await timed(lambda: Database.open(path), repeat=1)
        print(f"open (already migrated, first time after fill): {open_ms:.1f} ms")
        await db.close()
        reopen_times = []
        for _ in range(10):
            started = time.perf_counter()
            db = await Database.open(path)
            reopen_times.append((time.perf_counter() - started) * 1000)
            await db.close()
        print(f"open (median of 10): {statistics.median(reopen_times):.1f} ms")

        db = await Database.open(path)

        async def newest_last_50() -> Any:
            newest = await db.newest_conversation_id()
            assert newest is not None
            return await db.load_messages(newest, limit=50)

        ms, messages = await timed(newest_last_50)
        print(f"newest conversation, last {len(messages)} messages: {ms:.2f} ms")
        ms, listed = await timed(lambda: db.list_conversations(limit=50))
        print(f"list 50 conversations (with counts and models): {ms:.2f} ms")
        for order in ("relevance", "newest"):
            for query in ("zyzzyva", "checkpoint vacuum", "the"):
                ms, hits = await timed(
                    lambda q=query, o=order: db.search(q, limit=20, order=o)  # type: ignore[misc]
                )
                print(f"search {query!r} by {order} ({len(hits)} hits shown): {ms:.2f} ms")
        ms, _ = await timed(lambda: db.export_markdown(listed[0].id), repeat=5)
        print(f"export_markdown of a {listed[0].message_count}-message conversation: {ms:.2f} ms")
        await db.close()
        size = path.stat().st_size
        print(f"database file: {size / 1e6:.1f} MB ({size / total:.0f} bytes/message)")
        await tree_bench(path)


if __name__ == "__main__":
    asyncio.run(main())
