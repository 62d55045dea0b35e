"""The ``summary`` kind: the migration that allows it, and costs in the conversation list."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from ikigai.storage import MESSAGE_KINDS, Database
from ikigai.storage.migrations import MIGRATIONS
from ikigai.storage.migrator import migrate


def test_the_latest_migration_allows_every_kind() -> None:
    assert MESSAGE_KINDS[-1] == "summary"
    assert MIGRATIONS[-1].name == "summary_kind"


async def test_upgrading_keeps_rows_search_triggers_and_references(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await conn.execute("PRAGMA foreign_keys = ON")
        assert await migrate(conn, db_path, MIGRATIONS[:3]) == [
            "initial",
            "full_text_search",
            "stream_owners",
        ]
        await conn.execute(
            "INSERT INTO conversations(id, title, created_at, updated_at) "
            "VALUES (1, NULL, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')"
        )
        await conn.execute(
            "INSERT INTO messages(id, conversation_id, kind, content) "
            "VALUES (1, 1, 'user', 'How deep is the Mariana trench?')"
        )
        await conn.execute(
            "INSERT INTO messages(id, conversation_id, parent_id, kind, content, status, data) "
            "VALUES (2, 1, 1, 'assistant', 'About eleven kilometres', 'streaming', ?)",
            (json.dumps({"model": "old", "cost_usd": 0.5}),),
        )
        await conn.execute("INSERT INTO stream_owners(message_id, process) VALUES (2, 'x:1')")
        with pytest.raises(sqlite3.IntegrityError):
            await conn.execute(
                "INSERT INTO messages(conversation_id, kind, content) VALUES (1, 'summary', 's')"
            )
        assert await migrate(conn, db_path, MIGRATIONS) == ["message_tree", "summary_kind"]
        async with conn.execute("PRAGMA foreign_keys") as cursor:
            assert (await cursor.fetchone()) == (1,)  # switched back on

    async with await Database.open(db_path) as db:
        messages = await db.load_messages(1)
        assert [(m.id, m.parent_id, m.kind, m.status) for m in messages] == [
            (1, None, "user", "complete"),
            (2, 1, "assistant", "interrupted"),  # the stream owner row survived, then recovery
        ]
        summary = await db.add_message(1, "summary", "A trench.", parent_id=2)
        assert [hit.message_id for hit in await db.search("trench")] == [summary, 1]
        # The branch migration's leaf trigger survived the table's rebuild.
        assert await db.current_leaf(1) == summary
        [listed] = await db.list_conversations()
        assert listed.title == "How deep is the Mariana trench?"
        assert listed.cost_usd == 0.5
    with sqlite3.connect(db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        for name in (
            "messages_by_conversation",
            "messages_by_parent",
            "messages_streaming",
            "messages_touch_conversation",
            "messages_fts_insert",
            "messages_fts_delete",
            "messages_fts_update",
            "messages_stream_ended",
        ):
            assert name in names
        assert "messages_new" not in names
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
        assert "'summary'" in sql and "REFERENCES messages(id)" in sql


async def test_costs_are_summed_and_a_missing_price_is_flagged(db: Database) -> None:
    priced = await db.create_conversation()
    await db.add_message(priced, "user", "q")
    await db.add_message(priced, "assistant", "a", data={"output_tokens": 5, "cost_usd": 0.25})
    await db.add_message(priced, "summary", "s", data={"output_tokens": 5, "cost_usd": 0.125})
    mixed = await db.create_conversation()
    await db.add_message(mixed, "assistant", "a", data={"output_tokens": 5, "cost_usd": 0.5})
    await db.add_message(mixed, "assistant", "b", data={"output_tokens": 5})
    unpriced = await db.create_conversation()
    await db.add_message(unpriced, "assistant", "a", data={"output_tokens": 5})
    listed = {c.id: c for c in await db.list_conversations()}
    assert (listed[priced].cost_usd, listed[priced].cost_partial) == (0.375, False)
    assert (listed[mixed].cost_usd, listed[mixed].cost_partial) == (0.5, True)
    assert (listed[unpriced].cost_usd, listed[unpriced].cost_partial) == (None, True)
    document = await db.export_markdown(priced)
    assert "## Summary (the context was compacted here)" in document
    assert "cost $0.2500" in document
