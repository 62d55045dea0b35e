"""The schema, as an append-only list of named migrations.

Never edit or reorder a migration that has shipped: add a new one at the end.
Each migration runs in its own transaction and is recorded in
``schema_migrations`` (see ``migrator``). Statements are kept one per string
because ``executescript`` would commit the surrounding transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from ikigai.storage.models import MESSAGE_KINDS, MESSAGE_STATUSES

APPLICATION_ID = 0x494B4947
"""Written to the SQLite header (``PRAGMA application_id``): 'IKIG'."""

TITLE_MAX_CHARS = 100
"""Longest automatic title taken from the first user message."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: a version number, a stable name and its SQL statements."""

    version: int
    name: str
    statements: tuple[str, ...]


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

MIGRATIONS: tuple[Migration, ...] = (_INITIAL, _FULL_TEXT, _STREAM_OWNERS)
"""Every migration, in order; versions are 1, 2, 3, ..."""

LATEST_VERSION = MIGRATIONS[-1].version
