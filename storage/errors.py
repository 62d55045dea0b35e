"""Errors raised by the storage layer.

Every error carries a message meant for the person at the keyboard: it names
the database file and says what to do, so the CLI and UI can print it as is.
"""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base class: something about the database prevents ikigai from using it."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.message = message

    def __str__(self) -> str:
        return self.message


class DatabaseCorruptError(StorageError):
    """The file is not an SQLite database, is truncated, or is damaged."""


class ForeignDatabaseError(StorageError):
    """The file is an SQLite database that belongs to some other program."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer ikigai whose schema this code does not know."""


class DatabaseAccessError(StorageError):
    """The operating system refuses to let us create, read or write the file."""


class DatabaseBusyError(StorageError):
    """Another process kept the database locked for longer than the busy timeout."""


class DiskFullError(StorageError):
    """The disk (or the file system holding the database) has no room left."""


class NotFoundError(StorageError):
    """A conversation or message id that does not exist was used."""
