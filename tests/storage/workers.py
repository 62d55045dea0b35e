"""Programs run in child processes by the multi-process tests.

``python -m tests.storage.workers writer DB TAG COUNT`` adds COUNT messages;
``python -m tests.storage.workers stream DB`` streams an answer slowly forever
through the background ``StorageWriter``, printing the assistant row id once
some text is written, to be killed with -9.
``python -m tests.storage.workers open DB`` opens the database and prints the
outcome as JSON (used as an unprivileged user).
"""

from __future__ import annotations

import asyncio
import json
import sys

from ikigai.storage import Database, StorageError, StorageWriter
from tests.storage.sources import GrowingText


async def writer(path: str, tag: str, count: int) -> None:
    db = await Database.open(path)
    conversation = await db.create_conversation(title=f"writer {tag}")
    for number in range(count):
        if number % 10 == 0:
            async with db.transaction():
                await db.add_message(conversation, "user", f"{tag} batched {number}")
                await db.add_message(conversation, "assistant", f"{tag} reply {number}")
        else:
            await db.add_message(conversation, "user", f"{tag} single {number}")
    await db.close()


async def stream(path: str) -> None:
    db = await Database.open(path)
    writer = StorageWriter(db, flush_interval=0.05)
    conversation = writer.conversation()
    user = writer.message(conversation, "user", "tell me a long story")
    answer = GrowingText({"provider": "openai", "model": "gpt-test"})
    row = writer.stream(conversation, answer, parent=user)
    announced = False
    number = 0
    while True:
        answer.append(f"word{number} ")
        number += 1
        if not announced and number >= 20:
            await writer.drain()
            stored = await db.get_message(row.id or 0)
            if stored is not None and len(stored.content.split()) >= 20:
                print(row.id, flush=True)
                announced = True
        await asyncio.sleep(0.02)


async def try_open(path: str) -> None:
    try:
        db = await Database.open(path)
    except StorageError as exc:
        print(json.dumps({"ok": False, "type": type(exc).__name__, "message": str(exc)}))
        return
    try:
        conversation = await db.create_conversation()
        await db.add_message(conversation, "user", "hello")
    except StorageError as exc:
        print(json.dumps({"ok": False, "type": type(exc).__name__, "message": str(exc)}))
    else:
        print(json.dumps({"ok": True}))
    finally:
        await db.close()


def main(argv: list[str]) -> None:
    command, path, *rest = argv
    if command == "writer":
        asyncio.run(writer(path, rest[0], int(rest[1])))
    elif command == "stream":
        asyncio.run(stream(path))
    elif command == "open":
        asyncio.run(try_open(path))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
