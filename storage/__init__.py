"""SQLite persistence for ikigai: conversations, messages with JSON metadata,
crash-safe recording of streaming answers, full-text search and export.

Never imports the providers, the engine or the UI.
"""

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
