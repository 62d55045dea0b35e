"""Opening the one long-lived connection: checks, pragmas, migrations, recovery.

Order matters for the promise "a file we refuse is not modified": the file
header is validated before SQLite opens it, and the schema is inspected with
reads only before any pragma or migration writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite

from ikigai.storage.errors import StorageError
from ikigai.storage.fileguard import check_file, translate
from ikigai.storage.liveness import process_is_alive
from ikigai.storage.migrator import check_schema, migrate

BUSY_TIMEOUT_MS = 10_000
MEMORY = ":memory:"


def normalize_path(path: Path | str) -> Path:
    """``path`` with ``~`` expanded; ``":memory:"`` is kept as it is."""
    return Path(MEMORY) if str(path) == MEMORY else Path(path).expanduser()


async def open_connection(
    path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> aiosqlite.Connection:
    """Open ``path`` (or ``":memory:"``) ready for use at the latest schema.

    The connection is in autocommit mode; callers run ``BEGIN IMMEDIATE`` for
    multi-statement writes so concurrent writers wait instead of failing.
    Raises a ``StorageError`` subclass for any file that cannot be used.
    """
    in_memory = str(path) == MEMORY
    file_path = normalize_path(path)
    if not in_memory:
        await asyncio.to_thread(check_file, file_path)
    try:
        conn = await aiosqlite.connect(str(file_path), isolation_level=None)
    except sqlite3.Error as exc:
        raise translate(exc, file_path) from exc
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await check_schema(conn, file_path)
        if not in_memory:
            await _use_wal(conn)
        await conn.execute("PRAGMA synchronous = NORMAL")
        await migrate(conn, file_path)
        await recover_abandoned_streams(conn)
    except BaseException as exc:
        await conn.close()
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, file_path) from exc
        raise
    return conn


async def _use_wal(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA journal_mode") as cursor:
        row = await cursor.fetchone()
    if row is not None and str(row[0]).lower() == "wal":
        return
    async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    if row is None or str(row[0]).lower() != "wal":
        raise StorageError(f"the database could not be switched to WAL mode (got {row!r})")


async def recover_abandoned_streams(conn: aiosqlite.Connection) -> list[int]:
    """Mark ``streaming`` rows whose writer process is gone as ``interrupted``.

    Rows streamed by a process that still runs (another ikigai window) are left
    alone. Recovered rows get ``"recovered": true`` in their data. Returns ids.
    """
    async with conn.execute(
        "SELECT m.id, o.process FROM messages AS m "
        "LEFT JOIN stream_owners AS o ON o.message_id = m.id "
        "WHERE m.status = 'streaming'"
    ) as cursor:
        rows = list(await cursor.fetchall())
    abandoned = [int(row[0]) for row in rows if row[1] is None or not process_is_alive(row[1])]
    if not abandoned:
        return []
    marks = ", ".join("?" for _ in abandoned)
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute(
            "UPDATE messages SET status = 'interrupted', "
            "data = json_set(data, '$.recovered', json('true')) "
            f"WHERE status = 'streaming' AND id IN ({marks})",
            abandoned,
        )
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    return abandoned
