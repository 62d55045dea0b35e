"""A stored conversation of many messages, written straight into a database file.

Opening a long conversation must not hold up the event loop; the tests that
check it need more rows than a path decodes on the loop
(``storage.tree.DECODE_ON_LOOP``), which ``Database.add_message`` would write
one transaction at a time. One plain ``sqlite3`` transaction writes them here,
the way ``bench/big_content.py`` fills its 100,000-message conversation.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ikigai.storage.repository import Database


def text(number: int) -> str:
    """What message ``number`` says (even numbers are prompts, odd ones answers)."""
    return f"question {number}" if number % 2 == 0 else f"answer {number}"


async def fill(db_path: Path, messages: int) -> tuple[int, int]:
    """A new conversation of ``messages`` alternating prompts and answers (one path, no
    branches) in ``db_path`` (created and migrated if needed): its id and its leaf."""
    db = await Database.open(db_path)
    try:
        conversation = await db.create_conversation("long")
    finally:
        await db.close()
    connection = sqlite3.connect(db_path)
    parent: int | None = None
    try:
        with connection:
            for number in range(messages):
                user = number % 2 == 0
                cursor = connection.execute(
                    "INSERT INTO messages(conversation_id, parent_id, kind, content, data, status)"
                    " VALUES (?, ?, ?, ?, ?, 'complete')",
                    (
                        conversation,
                        parent,
                        "user" if user else "assistant",
                        text(number),
                        "{}" if user else '{"provider": "openai-chat", "model": "gpt-4o"}',
                    ),
                )
                parent = cursor.lastrowid
    finally:
        connection.close()
    assert parent is not None
    return conversation, parent
