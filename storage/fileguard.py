"""Checks made before SQLite touches a file, and translation of SQLite failures.

SQLite happily treats an empty file as a new database and only notices damage
when it reads a bad page, possibly after writing. Reading the 100-byte header
first lets us refuse a foreign or truncated file without modifying it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ikigai.storage.errors import (
    DatabaseAccessError,
    DatabaseBusyError,
    DatabaseCorruptError,
    DiskFullError,
    StorageError,
)

_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_ADVICE = "It was left untouched; move it aside or choose another file with --db or IKIGAI_DB."


def check_file(path: Path) -> None:
    """Raise a ``StorageError`` if ``path`` cannot be an intact SQLite database.

    A missing or empty file passes (SQLite creates the schema in it). The size
    check is skipped when a write-ahead log or journal could still complete the
    file (a checkpoint interrupted by a crash leaves it shorter than its header).
    """
    parent = path.parent
    try:
        if not parent.is_dir():
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(parent, 0o700)  # mkdir's mode is masked by the umask
    except OSError as exc:
        raise _access_error(path, f"cannot create the directory {parent}: {exc.strerror}") from exc
    if not path.exists():
        if not os.access(parent, os.W_OK | os.X_OK):
            raise _access_error(path, f"the directory {parent} is not writable")
        _create_private(path)
        return
    if path.is_dir():
        raise DatabaseAccessError(f"{path} is a directory, not an ikigai database file.", path)
    try:
        with path.open("rb") as handle:
            header = handle.read(_HEADER_SIZE)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise _access_error(path, f"cannot read it: {exc.strerror}") from exc
    if size == 0:
        return
    if len(header) < _HEADER_SIZE or not header.startswith(_MAGIC):
        raise DatabaseCorruptError(f"{path} is not an SQLite database. {_ADVICE}", path)
    expected = _size_from_header(header)
    if expected is not None and size < expected and not _has_recovery_data(path):
        raise DatabaseCorruptError(
            f"{path} is truncated: its header describes {expected} bytes but the file "
            f"has {size}. {_ADVICE}",
            path,
        )


def _create_private(path: Path) -> None:
    """Create the empty database file owner-only: it holds every prompt and answer.

    SQLite gives its -wal and -shm files the main file's permissions, so those
    are private too.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        return  # another process created it meanwhile
    except OSError as exc:
        raise _access_error(path, f"cannot create it: {exc.strerror}") from exc


def _size_from_header(header: bytes) -> int | None:
    """The database size recorded in the header, or None when it is not trustworthy."""
    page_size = int.from_bytes(header[16:18], "big")
    if page_size == 1:
        page_size = 65536
    page_count = int.from_bytes(header[28:32], "big")
    change_counter = header[24:28]
    valid_for = header[92:96]
    if change_counter != valid_for or page_count == 0:
        return None
    return page_size * page_count


def _has_recovery_data(path: Path) -> bool:
    """Whether a write-ahead log with frames or a hot rollback journal lies beside ``path``.

    SQLite completes or undoes the interrupted write from it, so the main file
    alone may legitimately disagree with its header.
    """
    for suffix, empty_size in (("-wal", 32), ("-journal", 0)):
        try:
            if path.with_name(path.name + suffix).stat().st_size > empty_size:
                return True
        except OSError:
            continue
    return False


def _access_error(path: Path, detail: str) -> DatabaseAccessError:
    return DatabaseAccessError(
        f"cannot use the ikigai database {path}: {detail}. "
        "Fix the permissions or choose another file with --db or IKIGAI_DB.",
        path,
    )


def translate(exc: sqlite3.Error, path: Path) -> StorageError:
    """Turn an SQLite exception into a ``StorageError`` with a message for people."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return DatabaseCorruptError(
            f"{path} is damaged or not a database ({text}). {_ADVICE}", path
        )
    if "disk is full" in lowered or "no space" in lowered:
        return DiskFullError(
            f"the disk holding the ikigai database {path} is full ({text}); free some space.",
            path,
        )
    if "locked" in lowered or "busy" in lowered:
        return DatabaseBusyError(
            f"the ikigai database {path} is locked by another process ({text}); try again.",
            path,
        )
    if (
        "readonly" in lowered
        or "read-only" in lowered
        or "unable to open" in lowered
        or "disk i/o" in lowered
        or "permission" in lowered
    ):
        return _access_error(path, text)
    return StorageError(f"the ikigai database {path} failed: {text}", path)
