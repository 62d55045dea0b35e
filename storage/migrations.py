"""The schema, as an append-only list of named migrations.

Never edit or reorder a migration that has shipped: add a new one at the end.
Each migration runs in its own transaction and is recorded in
``schema_migrations`` (see ``migrator``). Statements are kept one per string
because ``executescript`` would commit the surrounding transaction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ikigai.storage.models import MESSAGE_STATUSES
from ikigai.storage.relink import link_paths

if TYPE_CHECKING:
    import aiosqlite

MigrationStep = Callable[["aiosqlite.Connection"], Awaitable[None]]
"""Python run after a migration's statements, in its transaction (for data SQL cannot
move, or a step that must read the schema first)."""

APPLICATION_ID = 0x494B4947
"""Written to the SQLite header (``PRAGMA application_id``): 'IKIG'."""

TITLE_MAX_CHARS = 100
"""Longest automatic title taken from the first user message."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: a version number, a stable name and its SQL statements.

    ``step`` runs after the statements in the same transaction, for data SQL
    cannot move or a change that must read the schema first;
    ``foreign_keys_off`` runs the migration with foreign keys off (rebuilding a
    referenced table; the migrator checks every key before it commits).
    """

    version: int
    name: str
    statements: tuple[str, ...]
    step: MigrationStep | None = None
    foreign_keys_off: bool = False


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_WS = "char(32, 9, 10, 13)"
_FIRST_LINE = (
    f"trim(substr(ltrim(NEW.content, {_WS}), 1, "
    f"instr(ltrim(NEW.content, {_WS}) || char(10), char(10)) - 1), {_WS})"
)
AUTO_TITLE_SQL = f"NULLIF(substr({_FIRST_LINE}, 1, {TITLE_MAX_CHARS}), '')"
"""SQL giving the automatic title from a row aliased ``NEW``: its first non-blank line."""

_KINDS_V1: tuple[str, ...] = (
    "user",
    "assistant",
    "tool_call",
    "tool_result",
    "system",
    "command",
    "mark",
    "rewind",
    "clear",
    "usage",
    "interrupted",
)
"""The message kinds of the first schema (kept literal: a shipped migration never changes)."""

_INITIAL = Migration(
    1,
    "initial",
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
                CHECK(json_valid(data)) CHECK(json_type(data) = 'object')
        )
        """,
        f"""
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
            kind TEXT NOT NULL CHECK(kind IN ({_sql_list(_KINDS_V1)})),
            content TEXT NOT NULL DEFAULT '',
            data TEXT NOT NULL DEFAULT '{{}}'
                CHECK(json_valid(data)) CHECK(json_type(data) = 'object'),
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK(status IN ({_sql_list(MESSAGE_STATUSES)})),
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        )
        """,
        "CREATE INDEX conversations_by_updated ON conversations(updated_at DESC, id DESC)",
        "CREATE INDEX messages_by_conversation ON messages(conversation_id, id)",
        "CREATE INDEX messages_by_parent ON messages(parent_id) WHERE parent_id IS NOT NULL",
        "CREATE INDEX messages_streaming ON messages(id) WHERE status = 'streaming'",
        # Kept in SQL so that every writer (other processes, sqlite3 shell) keeps
        # the conversation's activity time and automatic title right.
        f"""
        CREATE TRIGGER messages_touch_conversation AFTER INSERT ON messages BEGIN
            UPDATE conversations SET
                updated_at = max(updated_at, NEW.created_at),
                title = CASE
                    WHEN title IS NULL AND NEW.kind = 'user' THEN {AUTO_TITLE_SQL}
                    ELSE title END
            WHERE id = NEW.conversation_id;
        END
        """,
    ),
)

_FULL_TEXT = Migration(
    2,
    "full_text_search",
    (
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content,
            content = 'messages',
            content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (NEW.id, NEW.content);
        END
        """,
        """
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', OLD.id, OLD.content);
        END
        """,
        """
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', OLD.id, OLD.content);
            INSERT INTO messages_fts(rowid, content) VALUES (NEW.id, NEW.content);
        END
        """,
        "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    ),
)

_STREAM_OWNERS = Migration(
    3,
    "stream_owners",
    (
        # Which process writes each streaming row, so that opening the database
        # marks only rows of dead processes as interrupted, not a live stream.
        """
        CREATE TABLE stream_owners (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
            process TEXT NOT NULL
        )
        """,
        """
        CREATE TRIGGER messages_stream_ended AFTER UPDATE OF status ON messages
        WHEN NEW.status != 'streaming' BEGIN
            DELETE FROM stream_owners WHERE message_id = NEW.id;
        END
        """,
    ),
)

_MESSAGE_TREE = Migration(
    4,
    "message_tree",
    (
        # A conversation is a tree of messages (parent_id); the leaf is where the
        # user is: the path from the root to it is what the model is sent.
        "ALTER TABLE conversations ADD COLUMN leaf_id INTEGER "
        "REFERENCES messages(id) ON DELETE SET NULL",
        "CREATE INDEX conversations_by_leaf ON conversations(leaf_id)",
        # Roots (parent_id IS NULL) are the first versions of a conversation's first
        # message: finding a root's siblings must not scan the conversation.
        "CREATE INDEX messages_roots ON messages(conversation_id, id) WHERE parent_id IS NULL",
        # Every new row but a tool call (an attachment of its answer) becomes the
        # leaf, whoever writes it; switching branches sets the leaf explicitly.
        """
        CREATE TRIGGER messages_set_leaf AFTER INSERT ON messages
        WHEN NEW.kind != 'tool_call' BEGIN
            UPDATE conversations SET leaf_id = NEW.id WHERE id = NEW.conversation_id;
        END
        """,
    ),
    step=link_paths,
)

_KIND_CHECK = re.compile(r"CHECK\s*\(\s*kind\s+IN\s*\([^)]*\)\s*\)", re.IGNORECASE)


def widen_kinds(kinds: tuple[str, ...]) -> MigrationStep:
    """A step that lets ``messages.kind`` take ``kinds``.

    SQLite cannot change a CHECK constraint in place, so the table is rebuilt
    the documented way: a copy with the new constraint (every other column and
    constraint as the current schema has it), the rows copied with their ids,
    the old table dropped, the copy renamed, and the table's indexes and
    triggers (whatever migrations created them) created again.
    """

    async def apply(conn: aiosqlite.Connection) -> None:
        async with conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise RuntimeError("the messages table is missing")
        table_sql = str(row[0])
        new_sql, found = _KIND_CHECK.subn(f"CHECK(kind IN ({_sql_list(kinds)}))", table_sql, 1)
        if not found:
            raise RuntimeError("the messages table has no kind constraint to widen")
        new_sql = re.sub(r"^CREATE TABLE\s+\"?messages\"?", "CREATE TABLE messages_new", new_sql)
        async with conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'messages' "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid"
        ) as cursor:
            dependents = [str(r[0]) for r in await cursor.fetchall()]
        await conn.execute(new_sql)
        await conn.execute("INSERT INTO messages_new SELECT * FROM messages")
        await conn.execute("DROP TABLE messages")
        await conn.execute("ALTER TABLE messages_new RENAME TO messages")
        for statement in dependents:
            await conn.execute(statement)

    return apply


_SUMMARY_KIND = Migration(
    5,
    "summary_kind",
    (),
    step=widen_kinds((*_KINDS_V1, "summary")),
    foreign_keys_off=True,
)

MIGRATIONS: tuple[Migration, ...] = (
    _INITIAL,
    _FULL_TEXT,
    _STREAM_OWNERS,
    _MESSAGE_TREE,
    _SUMMARY_KIND,
)
"""Every migration, in order; versions are 1, 2, 3, ..."""

LATEST_VERSION = MIGRATIONS[-1].version
