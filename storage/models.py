"""Value types returned by the repository and the vocabularies the schema enforces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

MessageKind = Literal[
    "user",
    "assistant",
    "tool_call",
    "tool_result",
    "system",
    "command",
    "mark",
    "rewind",
    "clear",
    "usage",
    "interrupted",
    "summary",
]
MessageStatus = Literal["complete", "streaming", "interrupted", "error"]

MESSAGE_KINDS: tuple[MessageKind, ...] = get_args(MessageKind)
MESSAGE_STATUSES: tuple[MessageStatus, ...] = get_args(MessageStatus)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One row of ``messages``; ``data`` is the decoded JSON metadata object."""

    id: int
    conversation_id: int
    parent_id: int | None
    kind: MessageKind
    content: str
    data: dict[str, Any]
    status: MessageStatus
    created_at: str


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation as listed in a browser: enough to show and pick it.

    ``title`` is the name given by a rename, otherwise the first line of the
    first user message (``None`` while there is none). ``model`` is the model of
    the latest assistant message. ``message_count`` counts every branch;
    ``leaf_id`` is the last message of the branch the user is on.
    ``cost_usd`` sums the known costs of its answers
    and summaries (``None`` when none is known); ``cost_partial`` says some answer
    had no known price, so the sum is a lower bound.
    """

    id: int
    title: str | None
    model: str | None
    message_count: int
    created_at: str
    updated_at: str
    data: dict[str, Any] = field(default_factory=dict)
    leaf_id: int | None = None
    cost_usd: float | None = None
    cost_partial: bool = False

    @property
    def forked_from(self) -> int | None:
        """The conversation this one was forked from (``/fork``), if any."""
        origin = self.data.get("forked_from")
        source = origin.get("conversation_id") if isinstance(origin, dict) else None
        return source if isinstance(source, int) and not isinstance(source, bool) else None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message matching a full-text search, with a highlighted excerpt."""

    conversation_id: int
    message_id: int
    title: str | None
    snippet: str
    kind: MessageKind
    created_at: str
