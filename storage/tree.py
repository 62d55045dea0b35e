"""The conversation tree: paths, versions, leaves and forks, as indexed queries.

A conversation is a tree of messages linked by ``parent_id``. Every row but a
``tool_call`` is a node of the tree; a ``tool_call`` row is an attachment of
the answer that made the call (its parent) and never has children. A parent
is always written before its children, so a child's id is larger than its
parent's: walks use that to stop on damaged data instead of looping.

* The *path* to a leaf is the leaf and its ancestors (plus their tool-call
  attachments), root first: what is shown and what the model is sent.
* The *versions* of a node are its siblings: the nodes with the same parent
  (for roots: the conversation's other roots), in the order they were written.
* The conversation's *current leaf* (``conversations.leaf_id``) is kept by a
  trigger (every new node becomes it) and by ``set_leaf`` (switching branches).

Each walk is a recursive CTE that follows the primary key upwards (one index
lookup per step) or ``messages_by_parent`` downwards, so the cost of a path is
its length, not the size of the conversation (bench/storage.py measures a
1,000-message path in a 10,000-message tree).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, cast

import aiosqlite

from ikigai.storage.metadata import decode, encode
from ikigai.storage.models import MessageKind, MessageStatus, StoredMessage

MESSAGE_COLUMNS = "id, conversation_id, parent_id, kind, content, data, status, created_at"

NO_LIMIT = 2**62
"""A path length no conversation reaches (the walk's depth bound when unbounded)."""

DECODE_STEP = 1_000
"""Rows a path decodes between two turns of the event loop (a few milliseconds), so that
reading a path of 100,000 messages never holds up the screen."""

_WALK_UP = f"""
WITH RECURSIVE path(id, parent_id, depth) AS (
    {{seed}}
    UNION ALL
    SELECT m.id, m.parent_id, path.depth + 1 FROM path
    JOIN messages AS m ON m.id = path.parent_id
    WHERE m.id < path.id AND m.conversation_id = ?1 AND path.depth < ?3
)
SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT id FROM path)
UNION
SELECT {MESSAGE_COLUMNS} FROM messages
WHERE kind = 'tool_call' AND parent_id IN (SELECT id FROM path)
ORDER BY 1
"""
_SEED_AT = "SELECT id, parent_id, 1 FROM messages WHERE id = ?2 AND conversation_id = ?1"
_SEED_BEFORE = (
    "SELECT m.id, m.parent_id, 1 FROM messages AS below JOIN messages AS m "
    "ON m.id = below.parent_id WHERE below.id = ?2 AND m.conversation_id = ?1"
)
PATH_SQL = _WALK_UP.format(seed=_SEED_AT)
"""Parameters: conversation id, leaf id, how many nodes at most (from the leaf up)."""
PATH_BEFORE_SQL = _WALK_UP.format(seed=_SEED_BEFORE)
"""Parameters: conversation id, a node id, how many nodes at most: the path above that node."""

LATEST_LEAF_SQL = """
WITH RECURSIVE below(id) AS (
    SELECT id FROM messages WHERE id = ?1
    UNION ALL
    SELECT m.id FROM below JOIN messages AS m ON m.parent_id = below.id
    WHERE m.kind != 'tool_call' AND m.id > below.id
)
SELECT max(id) FROM below
"""
"""The newest node at or below a node: the leaf of its most recently extended branch."""


@dataclass(frozen=True, slots=True)
class Version:
    """Which version a node is among its siblings: ``index`` of ``count``, from 1."""

    index: int
    count: int
    siblings: tuple[int, ...]

    def step(self, offset: int) -> int | None:
        """The id of the sibling ``offset`` away (``None`` past either end)."""
        position = self.index - 1 + offset
        return self.siblings[position] if 0 <= position < self.count else None


class TreeQueries:
    """The tree half of ``Database`` (a mixin: it uses the database's connection)."""

    path: Any

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    async def _execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    def _writing(self, *, begin: bool) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def create_conversation(
        self, title: str | None = None, data: Mapping[str, Any] | None = None
    ) -> int:
        raise NotImplementedError

    # -- paths ------------------------------------------------------------------------------

    async def path_messages(
        self,
        conversation_id: int,
        leaf_id: int | None,
        *,
        limit: int | None = None,
        before_id: int | None = None,
    ) -> list[StoredMessage]:
        """The path from the root to ``leaf_id`` (with tool-call attachments), root first.

        ``limit`` keeps the last ``limit`` nodes (a page); ``before_id`` gives the
        path above node ``before_id`` instead (the previous page). A leaf of
        another conversation, or ``None``, gives an empty path. The rows are
        decoded ``DECODE_STEP`` at a time, the event loop going on between.
        """
        start = before_id if before_id is not None else leaf_id
        if start is None:
            return []
        sql = PATH_BEFORE_SQL if before_id is not None else PATH_SQL
        rows = await self._fetchall(sql, (conversation_id, start, limit or NO_LIMIT))
        path = messages_from_rows(rows[:DECODE_STEP])
        for start in range(DECODE_STEP, len(rows), DECODE_STEP):
            await asyncio.sleep(0)
            path += messages_from_rows(rows[start : start + DECODE_STEP])
        return path

    async def current_leaf(self, conversation_id: int) -> int | None:
        """Where the user was: the stored leaf, or the newest node when it is missing."""
        rows = await self._fetchall(
            "SELECT c.leaf_id FROM conversations AS c JOIN messages AS m "
            "ON m.id = c.leaf_id AND m.conversation_id = c.id AND m.kind != 'tool_call' "
            "WHERE c.id = ?",
            (conversation_id,),
        )
        if rows:
            return int(rows[0][0])
        return await self.newest_leaf(conversation_id)

    async def newest_leaf(self, conversation_id: int) -> int | None:
        """The node written last: the leaf of the most recently updated branch."""
        rows = await self._fetchall(
            "SELECT id FROM messages WHERE conversation_id = ? AND kind != 'tool_call' "
            "ORDER BY id DESC LIMIT 1",
            (conversation_id,),
        )
        return int(rows[0][0]) if rows else None

    async def latest_leaf(self, message_id: int) -> int | None:
        """The newest node at or below ``message_id`` (``None`` if there is no such row)."""
        rows = await self._fetchall(LATEST_LEAF_SQL, (message_id,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    async def set_leaf(self, conversation_id: int, leaf_id: int) -> None:
        """Remember ``leaf_id`` as where the user is in the conversation (one of its nodes)."""
        async with self._writing(begin=False):
            await self._execute(
                "UPDATE conversations SET leaf_id = ?2 WHERE id = ?1 AND EXISTS "
                "(SELECT 1 FROM messages WHERE id = ?2 AND conversation_id = ?1 "
                "AND kind != 'tool_call')",
                (conversation_id, leaf_id),
            )

    # -- versions ---------------------------------------------------------------------------

    async def versions(self, conversation_id: int, ids: Sequence[int]) -> dict[int, Version]:
        """For each node of ``ids``: which version it is among its siblings."""
        out: dict[int, Version] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            marks = ", ".join("?" for _ in chunk)
            parents = await self._fetchall(
                f"SELECT id, parent_id FROM messages WHERE id IN ({marks}) "
                "AND conversation_id = ? AND kind != 'tool_call'",
                (*chunk, conversation_id),
            )
            parent_of = {int(row[0]): row[1] for row in parents}
            groups: dict[int | None, list[int]] = {}
            non_null = sorted({int(p) for p in parent_of.values() if p is not None})
            if non_null:
                marks = ", ".join("?" for _ in non_null)
                for parent, child in await self._fetchall(
                    f"SELECT parent_id, id FROM messages WHERE parent_id IN ({marks}) "
                    "AND kind != 'tool_call' ORDER BY id",
                    non_null,
                ):
                    groups.setdefault(int(parent), []).append(int(child))
            if None in parent_of.values():
                groups[None] = [
                    int(row[0])
                    for row in await self._fetchall(
                        "SELECT id FROM messages WHERE conversation_id = ? "
                        "AND parent_id IS NULL AND kind != 'tool_call' ORDER BY id",
                        (conversation_id,),
                    )
                ]
            for node, parent in parent_of.items():
                siblings = tuple(groups.get(int(parent) if parent is not None else None, ()))
                if node in siblings:
                    out[node] = Version(siblings.index(node) + 1, len(siblings), siblings)
        return out

    # -- forks ------------------------------------------------------------------------------

    async def fork_conversation(
        self, conversation_id: int, leaf_id: int, *, title: str | None = None
    ) -> int:
        """Copy the path to ``leaf_id`` into a new conversation; returns its id.

        The copy's data says where it came from (``forked_from``); rows keep
        their kind, content, data, status and time, a rewind keeps pointing at
        its (copied) mark, and an answer still streaming is copied as
        interrupted. One transaction: the fork exists whole or not at all.
        """
        async with self.transaction():
            rows = await self.path_messages(conversation_id, leaf_id)
            forked = await self.create_conversation(
                title,
                {"forked_from": {"conversation_id": conversation_id, "message_id": leaf_id}},
            )
            copies: dict[int, int] = {}
            for row in rows:
                copies[row.id] = await self._copy_row(forked, row, copies)
        return forked

    async def _copy_row(
        self, conversation_id: int, row: StoredMessage, copies: dict[int, int]
    ) -> int:
        data = dict(row.data)
        if row.kind == "rewind" and isinstance(data.get("mark_id"), int):
            data["mark_id"] = copies.get(data["mark_id"], data["mark_id"])
        status = "interrupted" if row.status == "streaming" else row.status
        parent = copies.get(row.parent_id) if row.parent_id is not None else None
        cursor = await self._execute(
            f"INSERT INTO messages({MESSAGE_COLUMNS.removeprefix('id, ')}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, parent, row.kind, row.content, encode(data), status, row.created_at),
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)


def messages_from_rows(rows: Iterable[sqlite3.Row | tuple[Any, ...]]) -> list[StoredMessage]:
    """``message_from_row`` of each row, in order."""
    return [message_from_row(row) for row in rows]


def message_from_row(row: sqlite3.Row | tuple[Any, ...]) -> StoredMessage:
    """A ``StoredMessage`` from a row selected as ``MESSAGE_COLUMNS``."""
    return StoredMessage(
        id=int(row[0]),
        conversation_id=int(row[1]),
        parent_id=int(row[2]) if row[2] is not None else None,
        kind=cast(MessageKind, row[3]),
        content=str(row[4]),
        data=decode(row[5]),
        status=cast(MessageStatus, row[6]),
        created_at=str(row[7]),
    )
