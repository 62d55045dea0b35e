"""The schema, as an append-only list of named migrations.

Never edit or reorder a migration that has shipped: add a new one at the end.
Each migration runs in its own transaction and is recorded in
``schema_migrations`` (see ``migrator``). Statements are kept one per string
because ``executescript`` would commit the surrounding transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ikigai.storage.models import MESSAGE_KINDS, MESSAGE_STATUSES
from ikigai.storage.relink import link_paths

if TYPE_CHECKING:
    import aiosqlite

MigrationStep = Callable[["aiosqlite.Connection"], Awaitable[None]]
"""Python run after a migration's statements, in its transaction (for data SQL cannot move)."""

APPLICATION_ID = 0x494B4947
"""Written to the SQLite header (``PRAGMA application_id``): 'IKIG'."""

TITLE_MAX_CHARS = 100
"""Longest automatic title taken from the first user message."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: a version number, a stable name, its SQL statements and
    optionally a Python ``step`` run after them in the same transaction."""

    version: int
    name: str
    statements: tuple[str, ...]
    step: MigrationStep | None = None


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_WS = "char(32, 9, 10, 13)"
_FIRST_LINE = (
    f"trim(substr(ltrim(NEW.content, {_WS}), 1, "
    f"instr(ltrim(NEW.content, {_WS}) || char(10), char(10)) - 1), {_WS})"
)
AUTO_TITLE_SQL = f"NULLIF(substr({_FIRST_LINE}, 1, {TITLE_MAX_CHARS}), '')"
"""SQL giving the automatic title from a row aliased ``NEW``: its first non-blank line."""

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
            kind TEXT NOT NULL CHECK(kind IN ({_sql_list(MESSAGE_KINDS)})),
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

MIGRATIONS: tuple[Migration, ...] = (_INITIAL, _FULL_TEXT, _STREAM_OWNERS, _MESSAGE_TREE)
"""Every migration, in order; versions are 1, 2, 3, ..."""

LATEST_VERSION = MIGRATIONS[-1].version
