"""The repository: every read and write of conversations and messages.

One ``Database`` owns one long-lived aiosqlite connection. Writes from
different tasks are serialized by a lock so that one task's transaction never
swallows another task's statement; ``transaction()`` groups several writes
atomically and may be nested within the same task.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast

import aiosqlite

from ikigai.storage.connection import BUSY_TIMEOUT_MS, normalize_path, open_connection
from ikigai.storage.errors import NotFoundError, StorageError
from ikigai.storage.fileguard import translate
from ikigai.storage.liveness import current_process_token
from ikigai.storage.metadata import decode, encode
from ikigai.storage.migrations import AUTO_TITLE_SQL
from ikigai.storage.models import (
    MESSAGE_KINDS,
    MESSAGE_STATUSES,
    ConversationSummary,
    MessageKind,
    MessageStatus,
    SearchHit,
    StoredMessage,
)
from ikigai.storage.search import fts_query
from ikigai.storage.timestamps import utc_now
from ikigai.storage.tree import MESSAGE_COLUMNS as _MESSAGE_COLUMNS
from ikigai.storage.tree import TreeQueries, message_from_row

_SUMMARY_SELECT = """
SELECT c.id, c.title, c.created_at, c.updated_at, c.data,
    (SELECT count(*) FROM messages AS m WHERE m.conversation_id = c.id),
    (SELECT json_extract(m.data, '$.model') FROM messages AS m
        WHERE m.conversation_id = c.id AND m.kind = 'assistant'
        ORDER BY m.id DESC LIMIT 1),
    c.leaf_id,
    (SELECT sum(json_extract(m.data, '$.cost_usd')) FROM messages AS m
        WHERE m.conversation_id = c.id AND m.kind IN ('assistant', 'summary')),
    (SELECT count(*) FROM messages AS m
        WHERE m.conversation_id = c.id AND m.kind IN ('assistant', 'summary')
        AND json_extract(m.data, '$.output_tokens') > 0
        AND json_extract(m.data, '$.cost_usd') IS NULL)
FROM conversations AS c
"""
SearchOrder = Literal["relevance", "newest"]
Branches = Literal["current", "all"]
"""What an export holds: the current path (root to leaf) or every branch."""
_SEARCH_ORDER: dict[str, str] = {
    "relevance": "messages_fts.rank, messages_fts.rowid DESC",
    "newest": "messages_fts.rowid DESC",
}
_RETITLE_SQL = f"""
UPDATE conversations SET title = (
    SELECT {AUTO_TITLE_SQL.replace("NEW.", "NEW_.")} FROM messages AS NEW_
    WHERE NEW_.conversation_id = conversations.id AND NEW_.kind = 'user'
    ORDER BY NEW_.id LIMIT 1)
WHERE id = ?
"""


class Database(TreeQueries):
    """Async access to an ikigai SQLite database.

    Create it with ``await Database.open(path)`` and ``await db.close()`` at the
    end (or ``async with await Database.open(path) as db``).
    """

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        self._conn = conn
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> Database:
        """Open (creating if needed) the database at ``path`` at the latest schema.

        Creates parent directories, switches to WAL, applies pending migrations
        and marks rows left ``streaming`` by dead processes ``interrupted``.
        ``":memory:"`` gives a private in-memory database. ``busy_timeout_ms``
        is how long a statement waits for another process's lock before it
        fails with ``DatabaseBusyError``. Raises a ``StorageError`` subclass
        naming the file when it cannot be used.
        """
        file_path = normalize_path(os.fspath(path))
        conn = await open_connection(file_path, busy_timeout_ms=busy_timeout_ms)
        return cls(conn, file_path, busy_timeout_ms)

    async def close(self) -> None:
        """Close the connection (the last closer checkpoints the WAL into the file)."""
        await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def waiting_for_locks(self, milliseconds: int) -> AsyncIterator[None]:
        """Within the block, a statement waits at most ``milliseconds`` for another
        process's lock (0: fail at once with ``DatabaseBusyError``)."""
        await self._execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
        try:
            yield
        finally:
            await self._execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")

    # -- transactions -------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the writes inside the block atomically (``BEGIN IMMEDIATE``).

        Nested use in the same task joins the outer transaction. Other tasks'
        writes wait until it ends.
        """
        async with self._writing(begin=True):
            yield

    @asynccontextmanager
    async def _writing(self, *, begin: bool) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            yield
            return
        async with self._lock:
            self._owner = task
            try:
                if not begin:
                    yield
                    return
                await self._execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self._conn.rollback()
                    raise
                try:
                    await self._conn.commit()
                except sqlite3.Error as exc:
                    await self._conn.rollback()
                    raise translate(exc, self.path) from exc
            finally:
                self._owner = None

    async def _execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        try:
            return await self._conn.execute(sql, tuple(params))
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        cursor = await self._execute(sql, params)
        try:
            return list(await cursor.fetchall())
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        finally:
            await cursor.close()

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    # -- conversations ------------------------------------------------------

    async def create_conversation(
        self, title: str | None = None, data: Mapping[str, Any] | None = None
    ) -> int:
        """Create a conversation and return its id.

        Without ``title`` it takes the first line of its first user message.
        """
        now = utc_now()
        async with self._writing(begin=False):
            cursor = await self._execute(
                "INSERT INTO conversations(title, created_at, updated_at, data) "
                "VALUES (?, ?, ?, ?)",
                (_clean_title(title), now, now, encode(data)),
            )
        return _rowid(cursor)

    async def get_conversation(self, conversation_id: int) -> ConversationSummary | None:
        """The summary of one conversation, or ``None`` if there is no such id."""
        row = await self._fetchone(_SUMMARY_SELECT + "WHERE c.id = ?", (conversation_id,))
        return _summary(row) if row is not None else None

    async def list_conversations(
        self, limit: int = 50, offset: int = 0
    ) -> list[ConversationSummary]:
        """Conversations, most recently active first."""
        rows = await self._fetchall(
            _SUMMARY_SELECT + "ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_summary(row) for row in rows]

    async def newest_conversation_id(self) -> int | None:
        """The id of the most recently active conversation, if any."""
        row = await self._fetchone(
            "SELECT id FROM conversations ORDER BY updated_at DESC, id DESC LIMIT 1"
        )
        return int(row[0]) if row is not None else None

    async def rename_conversation(self, conversation_id: int, title: str | None) -> None:
        """Give a conversation a title; ``None`` or blank goes back to the automatic one."""
        cleaned = _clean_title(title)
        async with self._writing(begin=False):
            if cleaned is None:
                cursor = await self._execute(_RETITLE_SQL, (conversation_id,))
            else:
                cursor = await self._execute(
                    "UPDATE conversations SET title = ? WHERE id = ?", (cleaned, conversation_id)
                )
        if cursor.rowcount == 0:
            raise _missing_conversation(conversation_id)

    async def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation with all its messages (and their search entries)."""
        async with self._writing(begin=False):
            cursor = await self._execute(
                "DELETE FROM conversations WHERE id = ?", (conversation_id,)
            )
        if cursor.rowcount == 0:
            raise _missing_conversation(conversation_id)

    # -- messages -----------------------------------------------------------

    async def add_message(
        self,
        conversation_id: int,
        kind: MessageKind,
        content: str = "",
        *,
        data: Mapping[str, Any] | None = None,
        status: MessageStatus = "complete",
        parent_id: int | None = None,
    ) -> int:
        """Store a message and return its id.

        ``data`` keys whose value is ``None`` are dropped. A ``streaming``
        message is registered to this process, so that opening the database
        elsewhere leaves it alone while we live and marks it ``interrupted``
        once we are gone.
        """
        _check_kind(kind)
        _check_status(status)
        params = (conversation_id, parent_id, kind, content, encode(data), status, utc_now())
        try:
            async with self._writing(begin=status == "streaming"):
                cursor = await self._execute(
                    f"INSERT INTO messages({_MESSAGE_COLUMNS.removeprefix('id, ')}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
                message_id = _rowid(cursor)
                if status == "streaming":
                    await self._execute(
                        "INSERT INTO stream_owners(message_id, process) VALUES (?, ?)",
                        (message_id, current_process_token()),
                    )
        except sqlite3.IntegrityError as exc:
            raise NotFoundError(
                f"cannot add a message: conversation {conversation_id} or parent message "
                f"{parent_id} does not exist in {self.path}",
                self.path,
            ) from exc
        return message_id

    async def update_message(
        self,
        message_id: int,
        *,
        content: str | None = None,
        data: Mapping[str, Any] | None = None,
        status: MessageStatus | None = None,
    ) -> None:
        """Change a message: ``content`` and ``data`` are replaced when given."""
        assignments: list[str] = []
        params: list[Any] = []
        if content is not None:
            assignments.append("content = ?")
            params.append(content)
        if data is not None:
            assignments.append("data = ?")
            params.append(encode(data))
        if status is not None:
            _check_status(status)
            assignments.append("status = ?")
            params.append(status)
        if not assignments:
            return
        async with self._writing(begin=False):
            cursor = await self._execute(
                f"UPDATE messages SET {', '.join(assignments)} WHERE id = ?", [*params, message_id]
            )
        if cursor.rowcount == 0:
            raise NotFoundError(f"message {message_id} does not exist in {self.path}", self.path)

    async def update_stream(
        self,
        message_id: int,
        conversation_id: int,
        *,
        content: str,
        data: Mapping[str, Any],
        status: MessageStatus,
    ) -> None:
        """Write a streaming answer's latest state; ``NotFoundError`` once it is gone.

        The row must still be this conversation's streaming assistant row: a row
        deleted elsewhere may have its id reused by another message, which must
        never be overwritten.
        """
        _check_status(status)
        async with self._writing(begin=False):
            cursor = await self._execute(
                "UPDATE messages SET content = ?, data = ?, status = ? "
                "WHERE id = ? AND conversation_id = ? AND kind = 'assistant' "
                "AND status = 'streaming'",
                (content, encode(data), status, message_id, conversation_id),
            )
        if cursor.rowcount == 0:
            raise NotFoundError(
                f"the streaming answer {message_id} is no longer in {self.path}", self.path
            )

    async def get_message(self, message_id: int) -> StoredMessage | None:
        """One message by id, or ``None``."""
        row = await self._fetchone(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        )
        return _message(row) if row is not None else None

    async def load_messages(
        self, conversation_id: int, limit: int = 50, before_id: int | None = None
    ) -> list[StoredMessage]:
        """Up to ``limit`` messages in chronological order: the latest ones, or
        with ``before_id`` the ones just before that message (earlier pages)."""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND id < ? "
            "ORDER BY id DESC LIMIT ?",
            (conversation_id, before_id if before_id is not None else 2**63 - 1, limit),
        )
        return [_message(row) for row in reversed(rows)]

    async def all_messages(self, conversation_id: int) -> list[StoredMessage]:
        """Every message of a conversation in chronological order."""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        )
        return [_message(row) for row in rows]

    # -- search and export --------------------------------------------------

    async def search(
        self,
        text: str,
        limit: int = 20,
        *,
        order: SearchOrder = "relevance",
        highlight: tuple[str, str] = ("**", "**"),
    ) -> list[SearchHit]:
        """Messages matching every word of ``text`` (last word as a prefix).

        Any input is safe: words are quoted, never parsed as FTS5 syntax.
        ``order="relevance"`` ranks by BM25; ``"newest"`` is cheaper when a
        word matches most of a large history (see bench/storage.py).
        ``highlight`` surrounds the matched words in the snippet.
        """
        query = fts_query(text)
        if query is None:
            return []
        rows = await self._fetchall(
            "SELECT m.conversation_id, m.id, c.title, "
            "snippet(messages_fts, 0, ?, ?, '…', 16), m.kind, m.created_at "
            "FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid "
            "JOIN conversations AS c ON c.id = m.conversation_id "
            f"WHERE messages_fts MATCH ? ORDER BY {_SEARCH_ORDER[order]} LIMIT ?",
            (highlight[0], highlight[1], query, limit),
        )
        return [
            SearchHit(
                conversation_id=int(row[0]),
                message_id=int(row[1]),
                title=row[2],
                snippet=" ".join(str(row[3]).split()),
                kind=cast(MessageKind, row[4]),
                created_at=str(row[5]),
            )
            for row in rows
        ]

    async def export_json(
        self, conversation_id: int, *, branches: Branches = "all"
    ) -> dict[str, Any]:
        """The conversation as JSON-ready data: every branch, or the current path
        (see ``storage.export``)."""
        conversation, messages, leaf = await self._load_whole(conversation_id, branches)
        from ikigai.storage import export

        return export.to_json(conversation, messages, branches=branches, leaf_id=leaf)

    async def export_markdown(self, conversation_id: int, *, branches: Branches = "all") -> str:
        """The conversation as a Markdown document: every branch, or the current path."""
        conversation, messages, leaf = await self._load_whole(conversation_id, branches)
        from ikigai.storage import export

        return export.to_markdown(conversation, messages, leaf_id=leaf)

    async def _load_whole(
        self, conversation_id: int, branches: Branches
    ) -> tuple[ConversationSummary, list[StoredMessage], int | None]:
        conversation = await self.get_conversation(conversation_id)
        if conversation is None:
            raise _missing_conversation(conversation_id)
        leaf = await self.current_leaf(conversation_id)
        if branches == "current":
            return conversation, await self.path_messages(conversation_id, leaf), leaf
        return conversation, await self.all_messages(conversation_id), leaf


def _rowid(cursor: aiosqlite.Cursor) -> int:
    if cursor.lastrowid is None:
        raise StorageError("SQLite did not report the id of the new row")
    return int(cursor.lastrowid)


def _clean_title(title: str | None) -> str | None:
    if title is None:
        return None
    return title.strip() or None


def _check_kind(kind: str) -> None:
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}; expected one of {MESSAGE_KINDS}")


def _check_status(status: str) -> None:
    if status not in MESSAGE_STATUSES:
        raise ValueError(f"unknown message status {status!r}; expected one of {MESSAGE_STATUSES}")


def _missing_conversation(conversation_id: int) -> NotFoundError:
    return NotFoundError(f"conversation {conversation_id} does not exist")


def _summary(row: sqlite3.Row) -> ConversationSummary:
    return ConversationSummary(
        id=int(row[0]),
        title=row[1],
        created_at=str(row[2]),
        updated_at=str(row[3]),
        data=decode(row[4]),
        message_count=int(row[5]),
        model=str(row[6]) if row[6] is not None else None,
        leaf_id=int(row[7]) if row[7] is not None else None,
        cost_usd=float(row[8]) if row[8] is not None else None,
        cost_partial=bool(row[9]),
    )


def _message(row: sqlite3.Row) -> StoredMessage:
    return message_from_row(row)
