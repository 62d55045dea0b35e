"""SQLite persistence for ikigai: conversations, messages with JSON metadata,
crash-safe recording of streaming answers, full-text search and export.

Never imports the UI or provider wire modules (only ``providers.events``).
"""

from ikigai.storage.errors import (
    DatabaseAccessError,
    DatabaseBusyError,
    DatabaseCorruptError,
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
from ikigai.storage.recorder import TurnRecorder
from ikigai.storage.repository import Database

__all__ = [
    "MESSAGE_KINDS",
    "MESSAGE_STATUSES",
    "ConversationSummary",
    "Database",
    "DatabaseAccessError",
    "DatabaseBusyError",
    "DatabaseCorruptError",
    "ForeignDatabaseError",
    "MessageKind",
    "MessageStatus",
    "NotFoundError",
    "SchemaTooNewError",
    "SearchHit",
    "StorageError",
    "StoredMessage",
    "TurnRecorder",
    "default_db_path",
    "resolve_db_path",
]
