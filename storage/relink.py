"""Linking the messages of conversations stored before the tree into one path each.

Before conversations were trees, the record was read in id order: user rows,
marks, commands and clears had no parent, an answer's parent was its prompt
(or the tool result it followed) and every tool result's parent was the
answer that called the tool. A regenerated answer (``/retry``) had its prompt
as parent and replaced what followed that prompt. ``link_paths`` gives every
row the parent that reading implies, so that the path from the first row to
the last is exactly the conversation the old reading produced, and stores
that last row as the conversation's current leaf. Nothing is deleted: an
answer that a regenerated one replaced stays, as the earlier version (a
sibling) of the new one.

It runs inside the ``message_tree`` migration's transaction, in Python,
because the walk (a path that a regenerated answer cuts back) is not one SQL
statement. A row that already has the implied parent is left untouched, so a
database written by a later version is not changed by it.
"""

from __future__ import annotations

import aiosqlite


async def link_paths(conn: aiosqlite.Connection) -> None:
    """Give every path row (all but ``tool_call`` rows) the parent the id order implies."""
    async with conn.execute(
        "SELECT id, conversation_id, parent_id, kind FROM messages "
        "WHERE kind != 'tool_call' ORDER BY conversation_id, id"
    ) as cursor:
        rows = list(await cursor.fetchall())
    parents: list[tuple[int | None, int]] = []
    leaves: list[tuple[int, int]] = []
    conversation: int | None = None
    path: list[int] = []
    prompts: dict[int, int] = {}
    for row_id, conversation_id, parent_id, kind in rows:
        if conversation_id != conversation:
            if conversation is not None and path:
                leaves.append((path[-1], conversation))
            conversation, path, prompts = conversation_id, [], {}
        if kind == "assistant" and parent_id in prompts:
            # A regenerated answer: it follows its prompt, not what the prompt had before.
            cut = prompts[parent_id]
            for dropped in path[cut + 1 :]:
                prompts.pop(dropped, None)
            del path[cut + 1 :]
            parent = parent_id
        else:
            parent = path[-1] if path else None
        if parent != parent_id:
            parents.append((parent, row_id))
        if kind == "user":
            prompts[row_id] = len(path)
        path.append(row_id)
    if conversation is not None and path:
        leaves.append((path[-1], conversation))
    await conn.executemany("UPDATE messages SET parent_id = ? WHERE id = ?", parents)
    await conn.executemany("UPDATE conversations SET leaf_id = ? WHERE id = ?", leaves)
