"""Programs run in child processes by the multi-process tests.

``python -m tests.storage.workers writer DB TAG COUNT`` adds COUNT messages;
``python -m tests.storage.workers stream DB`` records an answer slowly forever,
printing the assistant row id once some text is flushed, to be killed with -9.
``python -m tests.storage.workers open DB`` opens the database and prints the
outcome as JSON (used as an unprivileged user).
"""

from __future__ import annotations

import asyncio
import json
import sys

from ikigai.providers.events import Start, TextDelta
from ikigai.storage import Database, StorageError, TurnRecorder


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
    conversation = await db.create_conversation()
    user = await db.add_message(conversation, "user", "tell me a long story")
    recorder = TurnRecorder(db, conversation, user, provider="openai", model="gpt-test")
    await recorder.record(Start("gpt-test"))
    announced = False
    number = 0
    while True:
        await recorder.record(TextDelta(0, f"word{number} "))
        number += 1
        if not announced and number >= 20:
            print(recorder.message_id, flush=True)
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
