"""Bringing a database to the latest schema, one recorded migration at a time.

The applied migrations live in ``schema_migrations(version, name, applied_at)``.
A database listing a migration this code does not know (a newer ikigai wrote
it) is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aiosqlite

from ikigai.storage.errors import ForeignDatabaseError, SchemaTooNewError
from ikigai.storage.migrations import MIGRATIONS, Migration
from ikigai.storage.timestamps import utc_now

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    applied_at TEXT NOT NULL
)
"""


async def applied_migrations(conn: aiosqlite.Connection) -> list[tuple[int, str]] | None:
    """The ``(version, name)`` pairs recorded in the database, oldest first.

    ``None`` means the database has no migration table but holds other objects.
    One statement decides that, so a concurrent first migration is seen whole.
    """
    async with conn.execute(
        "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' "
        "AND name = 'schema_migrations'), (SELECT count(*) FROM sqlite_master)"
    ) as cursor:
        row = await cursor.fetchone()
    has_table, objects = (int(row[0]), int(row[1])) if row is not None else (0, 0)
    if not has_table:
        return [] if objects == 0 else None
    async with conn.execute("SELECT version, name FROM schema_migrations ORDER BY version") as cur:
        return [(int(row[0]), str(row[1])) for row in await cur.fetchall()]


async def check_schema(
    conn: aiosqlite.Connection, path: Path, known: Sequence[Migration] = MIGRATIONS
) -> list[tuple[int, str]]:
    """Refuse a database we must not write to; return what it has applied.

    Reads only. Raises ``SchemaTooNewError`` when the database records a
    migration unknown to this code and ``ForeignDatabaseError`` when it holds
    tables but no migration record (some other program's database).
    """
    applied = await applied_migrations(conn)
    if applied is None:
        raise ForeignDatabaseError(
            f"{path} is an SQLite database of some other program, not of ikigai. "
            "It was left untouched; choose another file with --db or IKIGAI_DB.",
            path,
        )
    names = {migration.version: migration.name for migration in known}
    for version, name in applied:
        if names.get(version) != name:
            newest = applied[-1][0]
            raise SchemaTooNewError(
                f"{path} was written by a newer ikigai (schema version {newest}, migration "
                f"{version} '{name}'; this version knows up to {len(known)}). "
                "Upgrade ikigai to open it; the file was not changed.",
                path,
            )
    return applied


async def migrate(
    conn: aiosqlite.Connection, path: Path, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the missing ``migrations`` in order; return the names applied.

    Each runs in its own ``BEGIN IMMEDIATE`` transaction and re-checks what is
    applied inside it, so two processes opening a blank file at once both end
    up with one correct schema. The connection must be in autocommit mode.
    """
    done = {version for version, _ in await check_schema(conn, path, migrations)}
    applied_now: list[str] = []
    for migration in migrations:
        if migration.version in done:
            continue
        keys_were_on = await _foreign_keys(conn)
        if migration.foreign_keys_off and keys_were_on:
            await conn.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                current = {v for v, _ in await check_schema(conn, path, migrations)}
                if migration.version not in current:
                    await conn.execute(_CREATE_TABLE)
                    for statement in migration.statements:
                        await conn.execute(statement)
                    if migration.step is not None:
                        await migration.step(conn)
                    if migration.foreign_keys_off:
                        await _check_foreign_keys(conn, migration)
                    await conn.execute(
                        "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                        (migration.version, migration.name, utc_now()),
                    )
                    applied_now.append(migration.name)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()
        finally:
            if migration.foreign_keys_off and keys_were_on:
                await conn.execute("PRAGMA foreign_keys = ON")
    return applied_now


async def _foreign_keys(conn: aiosqlite.Connection) -> bool:
    async with conn.execute("PRAGMA foreign_keys") as cursor:
        row = await cursor.fetchone()
    return bool(row and row[0])


async def _check_foreign_keys(conn: aiosqlite.Connection, migration: Migration) -> None:
    """Refuse to commit a step that left a dangling reference (checked with keys off)."""
    async with conn.execute("PRAGMA foreign_key_check") as cursor:
        problem = await cursor.fetchone()
    if problem is not None:
        raise RuntimeError(
            f"migration {migration.version} '{migration.name}' would leave a broken "
            f"reference in table {problem[0]} (row {problem[1]})"
        )
