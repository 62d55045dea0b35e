"""The conversation's errors and the small values its verbs take and return.

Kept apart from ``engine.conversation`` so that the parts of the conversation
(``conversation_core``, ``branch_verbs``, ``context_verbs``) share them
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.engine.toolloop import Approver
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.writer import RowRef

PAGE = 50
"""Messages shown when a conversation is opened (and per earlier page)."""

SETTLE_WAIT = 5.0
"""Seconds a branch verb waits for pending rows to be stored before it gives up."""


class ConversationError(Exception):
    """A verb that cannot be done now; the message says why, for the user."""


class Busy(ConversationError):
    """A turn is running; the verb must wait until it ends (or is cancelled)."""


class UnknownConversation(ConversationError):
    """The conversation id does not exist in the database."""


class UnknownMessage(ConversationError):
    """The message id does not exist, or belongs to no conversation."""


class PromptNotStored(ConversationError):
    """The prompt could not be stored and this conversation must not send it unsaved."""


class AttachmentRefused(ConversationError):
    """An ``@path`` of the prompt cannot be attached; nothing was sent."""


class ContextFull(ConversationError):
    """The request does not fit the model's context window; nothing was sent."""


class CompactionError(ConversationError):
    """The summary could not be made; the conversation is unchanged."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts of the last response and of the whole conversation."""

    last_input: int = 0
    last_output: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class Opened:
    """A stored conversation just opened: its id, the last messages of the path to its
    leaf, and whether more exist above them."""

    id: int
    rows: list[StoredMessage]
    has_earlier: bool
    leaf: int | None = None


@dataclass(frozen=True, slots=True)
class ToolAccess:
    """How tool calls are allowed in this session.

    ``approver`` asks the user (the app's prompt); without one (headless), a
    tool whose policy is ``ask`` runs only when ``allowed`` names it.
    """

    approver: Approver | None = None
    allowed: frozenset[str] = frozenset()
    cwd: Path | None = None


@dataclass(slots=True)
class LiveMark:
    label: str
    ref: RowRef | None
    length: int
    order: int
