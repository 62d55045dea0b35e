"""SQLite persistence for ikigai: conversations, messages with JSON metadata,
crash-safe recording of streaming answers, full-text search and export.

Never imports the providers, the engine or the UI.

The names below are loaded when first used: a run that stores nothing
(``ikigai -p --no-store``) still uses the snapshot types of ``storage.writer``
and ``storage.metadata``, and must not load SQLite and the repository for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ikigai.storage.errors import (
        DatabaseAccessError,
        DatabaseBusyError,
        DatabaseCorruptError,
        DiskFullError,
        ForeignDatabaseError,
        NotFoundError,
        SchemaTooNewError,
        StorageError,
    )
    from ikigai.storage.models import (
        MESSAGE_KINDS,
        MESSAGE_STATUSES,
        ConversationSummary,
        MessageKind,
        MessageStatus,
        SearchHit,
        StoredMessage,
    )
    from ikigai.storage.paths import default_db_path, resolve_db_path
    from ikigai.storage.repository import Database
    from ikigai.storage.writer import RowRef, Snapshot, SnapshotSource, StorageWriter, ToolCallRow

_HOMES = {
    **dict.fromkeys(
        (
            "DatabaseAccessError",
            "DatabaseBusyError",
            "DatabaseCorruptError",
            "DiskFullError",
            "ForeignDatabaseError",
            "NotFoundError",
            "SchemaTooNewError",
            "StorageError",
        ),
        "errors",
    ),
    **dict.fromkeys(
        (
            "MESSAGE_KINDS",
            "MESSAGE_STATUSES",
            "ConversationSummary",
            "MessageKind",
            "MessageStatus",
            "SearchHit",
            "StoredMessage",
        ),
        "models",
    ),
    **dict.fromkeys(("default_db_path", "resolve_db_path"), "paths"),
    "Database": "repository",
    **dict.fromkeys(
        ("RowRef", "Snapshot", "SnapshotSource", "StorageWriter", "ToolCallRow"), "writer"
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "MESSAGE_KINDS",
    "MESSAGE_STATUSES",
    "ConversationSummary",
    "Database",
    "DatabaseAccessError",
    "DatabaseBusyError",
    "DatabaseCorruptError",
    "DiskFullError",
    "ForeignDatabaseError",
    "MessageKind",
    "MessageStatus",
    "NotFoundError",
    "RowRef",
    "SchemaTooNewError",
    "SearchHit",
    "Snapshot",
    "SnapshotSource",
    "StorageError",
    "StorageWriter",
    "StoredMessage",
    "ToolCallRow",
    "default_db_path",
    "resolve_db_path",
]
