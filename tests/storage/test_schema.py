"""Schema, pragmas and migrations on real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from ikigai.storage import Database
from ikigai.storage.migrations import LATEST_VERSION, MIGRATIONS
from ikigai.storage.migrator import migrate


def migration_rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()


def test_migrations_are_numbered_in_order_with_unique_names() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


async def test_blank_file_gets_latest_schema(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.close()
    assert migration_rows(db_path) == [(m.version, m.name) for m in MIGRATIONS]
    with sqlite3.connect(db_path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {"conversations", "messages", "messages_fts", "schema_migrations"} <= names
        assert {"conversations_by_updated", "messages_by_conversation"} <= names
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [row[1] for row in conn.execute("PRAGMA table_info(messages)")]
        assert columns == [
            "id",
            "conversation_id",
            "parent_id",
            "kind",
            "content",
            "data",
            "status",
            "created_at",
        ]
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
        assert "CHECK(json_valid(data))" in sql


async def test_second_open_applies_nothing(db_path: Path) -> None:
    await (await Database.open(db_path)).close()
    before = migration_rows(db_path)
    with sqlite3.connect(db_path) as conn:
        applied_at = conn.execute("SELECT applied_at FROM schema_migrations").fetchall()
    db = await Database.open(db_path)
    await db.close()
    assert migration_rows(db_path) == before
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT applied_at FROM schema_migrations").fetchall() == applied_at


async def test_upgrade_from_first_schema_keeps_and_indexes_old_rows(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        assert await migrate(conn, db_path, MIGRATIONS[:1]) == ["initial"]
        await conn.execute(
            "INSERT INTO conversations(id, title, created_at, updated_at) "
            "VALUES (1, NULL, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')"
        )
        await conn.execute(
            "INSERT INTO messages(conversation_id, kind, content) VALUES (1, 'user', ?)",
            ("Where do penguins live?\nJust curious",),
        )
        await conn.execute(
            "INSERT INTO messages(conversation_id, parent_id, kind, content, status, data) "
            "VALUES (1, 1, 'assistant', 'Mostly in the southern hemisphere', 'streaming', ?)",
            (json.dumps({"model": "old-model"}),),
        )
    assert migration_rows(db_path) == [(1, "initial")]

    async with await Database.open(db_path) as db:
        assert migration_rows(db_path) == [(m.version, m.name) for m in MIGRATIONS]
        hits = await db.search("hemisphere")
        assert [hit.message_id for hit in hits] == [2]
        [summary] = await db.list_conversations()
        assert summary.title == "Where do penguins live?"
        assert summary.model == "old-model"
        messages = await db.load_messages(1)
        assert messages[1].status == "interrupted"
        assert messages[1].content == "Mostly in the southern hemisphere"


async def test_constraints_reject_bad_rows(db: Database, raw: sqlite3.Connection) -> None:
    conversation = await db.create_conversation()
    bad_rows = [
        ("bogus", "{}", "complete"),
        ("user", "not json", "complete"),
        ("user", "[1, 2]", "complete"),
        ("user", "{}", "pending"),
    ]
    for kind, data, status in bad_rows:
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute(
                "INSERT INTO messages(conversation_id, kind, data, status) VALUES (?, ?, ?, ?)",
                (conversation, kind, data, status),
            )
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute("INSERT INTO messages(conversation_id, kind) VALUES (9999, 'user')")


async def test_repository_validates_kind_status_and_foreign_keys(db: Database) -> None:
    from ikigai.storage import NotFoundError

    conversation = await db.create_conversation()
    with pytest.raises(ValueError):
        await db.add_message(conversation, "bogus", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await db.add_message(conversation, "user", "x", status="pending")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        await db.add_message(conversation + 1, "user", "x")
    with pytest.raises(NotFoundError):
        await db.add_message(conversation, "user", "x", parent_id=12345)


async def test_every_kind_and_status_is_accepted(db: Database) -> None:
    from ikigai.storage import MESSAGE_KINDS, MESSAGE_STATUSES

    conversation = await db.create_conversation()
    for kind in MESSAGE_KINDS:
        for status in MESSAGE_STATUSES:
            await db.add_message(conversation, kind, f"{kind} {status}", status=status)
    summary = await db.get_conversation(conversation)
    assert summary is not None
    assert summary.message_count == len(MESSAGE_KINDS) * len(MESSAGE_STATUSES)


async def test_latest_version_constant_matches(db_path: Path) -> None:
    await (await Database.open(db_path)).close()
    assert migration_rows(db_path)[-1][0] == LATEST_VERSION
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x494B4947
