"""Moving within the tree of a stored conversation: versions, forks, continuing.

A conversation is a tree of stored messages; the session is at one leaf, and
the model context is the path from the root to it (``engine.context``). Every
new row's parent is the leaf; a branch verb first moves the leaf (to the
parent of the message it makes a new version of) and rebuilds the context from
the stored path, so nothing is ever deleted by branching. The tree lives in
storage: branch verbs need a working database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from ikigai.engine.branches import (
    BranchMove,
    VersionChoice,
    VersionError,
    pick_version,
)
from ikigai.engine.context import rebuild_stepwise

if TYPE_CHECKING:
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.tree import Version
    from ikigai.storage.writer import RowRef

from ikigai.engine.conversation_core import ConversationCore
from ikigai.engine.conversation_types import (
    SETTLE_WAIT,
    ConversationError,
    UnknownMessage,
)


class BranchVerbs(ConversationCore):
    """Switching versions, forking, continuing from a message, and the tree's queries."""

    async def switch_branch(
        self, choice: VersionChoice, message_id: int | None = None
    ) -> BranchMove:
        """Show another version of ``message_id`` (default: the last message of the path
        that has versions): ``next``, ``prev`` or version N (from 1).

        The path then runs from that version to the newest leaf below it, the
        context is rebuilt from it and the leaf is stored (a resume opens
        here). Raises ``ConversationError`` when there is no such version.
        """
        self._refuse_when_busy()
        await self._settle()
        db = self._require_db()
        conversation_id = self._id_or_fail()
        if message_id is None:
            path = await db.path_messages(conversation_id, self._leaf_id())
            nodes = [r.id for r in path if r.kind != "tool_call"]
            versions = await db.versions(conversation_id, nodes)
            message_id = next((n for n in reversed(nodes) if versions[n].count > 1), None)
            if message_id is None:
                raise ConversationError("no message of this branch has another version")
        version = (await db.versions(conversation_id, [message_id])).get(message_id)
        if version is None:
            raise ConversationError(f"message {message_id} is not in this conversation")
        if version.count < 2:
            raise ConversationError(f"message {message_id} has no other version")
        try:
            target = pick_version(version, choice)
        except VersionError as exc:
            raise ConversationError(str(exc)) from None
        self._refuse_when_busy()
        leaf = await db.latest_leaf(target) or target
        path = await self._move_to(leaf)
        assert self._writer is not None
        self._writer.set_leaf(conversation_id, leaf)
        tail = next(i for i, row in enumerate(path) if row.id == target)
        index = version.siblings.index(target) + 1
        return BranchMove(message_id, path[tail:], replace(version, index=index))

    async def user_messages(self) -> list[StoredMessage]:
        """The prompts of the current path, first to last (``/edit N`` counts them)."""
        await self._settle()
        db = self._require_db()
        rows = await db.path_messages(self._id_or_fail(), self._leaf_id())
        return [row for row in rows if row.kind == "user"]

    async def versions(self, rows: Iterable[RowRef | int | None]) -> dict[int, Version]:
        """Which version each stored message of ``rows`` is among its siblings.

        For display: rows not stored (yet) are left out, and a storage problem
        gives an empty answer rather than an error.
        """
        from ikigai.storage.errors import StorageError
        from ikigai.storage.writer import RowRef

        if self._db is None or self.id is None:
            return {}
        ids: list[int] = []
        for row in rows:
            if isinstance(row, RowRef) and row.id is None and self._writer is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._writer.wait(row)
            row_id = row.id if isinstance(row, RowRef) else row
            if row_id is not None:
                ids.append(row_id)
        try:
            return await self._db.versions(self.id, ids)
        except StorageError:
            return {}

    async def continue_from(self, message_id: int) -> None:
        """Continue the conversation holding ``message_id`` from that message: the next
        prompt is its child (a new branch), sent the path up to and including it.

        Raises ``UnknownMessage`` for an id that does not exist or belongs to no
        conversation, ``ConversationError`` for a tool call (an attachment of
        its answer, which is where to continue from).
        """
        self._refuse_when_busy()
        db = self._require_db()
        row = await db.get_message(message_id)
        if row is None:
            raise UnknownMessage(f"no message {message_id} in {db.path}")
        if await db.get_conversation(row.conversation_id) is None:
            raise UnknownMessage(f"message {message_id} belongs to no conversation in {db.path}")
        if row.kind == "tool_call":
            raise ConversationError(
                f"message {message_id} is a tool call; continue from the answer that made it "
                f"(message {row.parent_id})"
            )
        from ikigai.storage.writer import RowRef

        self._reset(RowRef(row.conversation_id))
        self._leaf = message_id
        self._ready = asyncio.get_running_loop().create_task(
            self._load_context(row.conversation_id, message_id)
        )

    async def _settle(self) -> None:
        """Wait until every requested row is stored, so the tree in storage is complete.

        Raises ``ConversationError`` when this session stores nothing, storage
        failed, or it stays behind for ``SETTLE_WAIT`` seconds.
        """
        from ikigai.storage.writer import RowRef

        writer = self._writer
        if writer is None or self._db is None:
            raise ConversationError(
                "branches are kept in the database, and this session stores nothing"
            )
        if writer.state.failed:
            raise ConversationError(
                f"branches need the database, which failed: {self.storage_problem}"
            )
        await self._wait_ready()
        try:
            async with asyncio.timeout(SETTLE_WAIT):
                await writer.drain()
        except TimeoutError:
            raise ConversationError(
                f"not saved yet ({self.storage_problem or 'storage is slow'}); try again soon"
            ) from None
        leaf = self._leaf
        if isinstance(leaf, RowRef):
            if leaf.id is None:
                raise ConversationError("the last message could not be stored")
            self._leaf = leaf.id

    async def _stored_message(self, message_id: int, kind: str) -> StoredMessage:
        """Message ``message_id`` of this conversation, which must be of ``kind``."""
        await self._settle()
        db = self._require_db()
        row = await db.get_message(message_id)
        if row is None or row.conversation_id != self.id:
            raise ConversationError(f"message {message_id} is not in this conversation")
        if row.kind != kind:
            wanted = "a prompt" if kind == "user" else "an answer"
            raise ConversationError(f"message {message_id} is {row.kind}, not {wanted}")
        return row

    async def _move_to(self, leaf: int | None) -> list[StoredMessage]:
        """Put the session at ``leaf`` (``None``: before the first message): the context
        becomes the path's; returns the path."""
        db = self._require_db()
        rows = await db.path_messages(self._id_or_fail(), leaf) if leaf is not None else []
        rebuilt = await rebuild_stepwise(rows)
        self._adopt(rebuilt)
        self._leaf = leaf
        return rows

    def _id_or_fail(self) -> int:
        conversation_id = self.id
        if conversation_id is None:
            raise ConversationError("this conversation has nothing stored yet")
        return conversation_id

    def _leaf_id(self) -> int | None:
        leaf = self._leaf
        return leaf if isinstance(leaf, int) or leaf is None else leaf.id
