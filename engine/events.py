"""What a turn yields besides the provider's own stream events.

A turn (``Conversation.send``) is an async iterator of ``RunnerEvent``: the
provider's events (``start``, deltas, tool-call events, ``done``/``error``,
``retry`` notices) as they arrive, plus the engine's own events below. Front
ends render them (the app's widgets, the headless writer); storage does not
read them, it reads the response's accumulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ikigai.providers.events import ProviderEvent
from ikigai.providers.request import ImagePart

if TYPE_CHECKING:
    from ikigai.engine.compaction import Compacted


@dataclass(frozen=True, slots=True)
class UserPrompt:
    """The user's prompt, stored (when storage works) before the request is sent."""

    text: str
    type: ClassVar[str] = "user_prompt"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "user_prompt", "text": self.text}


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A tool call the client is about to run (after the response that asked for it)."""

    id: str
    name: str
    arguments: str
    type: ClassVar[str] = "tool_run"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_run", "id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool the client ran, and what it returned to the model.

    ``mcp_server`` / ``mcp_tool`` name the MCP server and its own name for the
    tool when the call went to one (stored with the result); ``images`` go to
    the model where the provider takes them (not stored: ``output`` describes
    them). None of the three is part of the JSONL contract.
    """

    id: str
    name: str
    ok: bool
    output: str
    mcp_server: str | None = None
    mcp_tool: str | None = None
    images: tuple[ImagePart, ...] = ()
    type: ClassVar[str] = "tool_result"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "tool_result",
            "id": self.id,
            "name": self.name,
            "ok": self.ok,
            "output": self.output,
        }


@dataclass(frozen=True, slots=True)
class Branched:
    """The turn makes a new version of message ``replaces``: it answers after
    ``parent_id`` instead (``None``: a new first message). Yielded first, so a
    front end can take ``replaces`` and what follows it off the screen before
    the new version arrives."""

    replaces: int
    parent_id: int | None
    type: ClassVar[str] = "branched"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "branched", "replaces": self.replaces, "parent_id": self.parent_id}


@dataclass(frozen=True, slots=True)
class Stored:
    """A message of the turn is in the database: its id, its parent and its conversation.

    Yielded only by a conversation that reports them (headless ``--output
    jsonl``): right after the prompt is stored, after each response ends and
    after each tool result. Another run can continue from ``id`` (``--from``).
    """

    kind: str
    id: int
    parent_id: int | None
    conversation_id: int
    type: ClassVar[str] = "stored"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "stored",
            "kind": self.kind,
            "id": self.id,
            "parent_id": self.parent_id,
            "conversation_id": self.conversation_id,
        }


NoticeLevel = Literal["info", "warning"]
NoticeSource = Literal["storage", "mcp", "context"]


@dataclass(frozen=True, slots=True)
class TurnNote:
    """Something the user should know about this turn that no stream event says.

    A paused answer that kept pausing, a refusal's explanation, an answer that
    stopped at the context window. Front ends show it beside the answer (the
    headless run on stderr); it is not one of the contract's stream events.
    """

    text: str
    level: NoticeLevel = "info"
    type: ClassVar[str] = "turn_note"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "turn_note", "text": self.text, "level": self.level}


@dataclass(frozen=True, slots=True)
class Fallback:
    """A model failed before answering and the next one of the profile's list is tried.

    ``failed`` and ``next`` are ``provider/model``; ``category`` and ``message``
    are the failure's (after the failed model's own retries).
    """

    failed: str
    next: str
    category: str
    message: str
    http_status: int | None = None
    type: ClassVar[str] = "fallback"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "fallback",
            "failed": self.failed,
            "next": self.next,
            "category": self.category,
            "message": self.message,
            "http_status": self.http_status,
        }

    def describe(self) -> str:
        """One line for people: ``a/x failed (server, HTTP 529: ...): trying b/y``."""
        status = f", HTTP {self.http_status}" if self.http_status else ""
        return f"{self.failed} failed ({self.category}{status}: {self.message}); trying {self.next}"


RunnerEvent = (
    ProviderEvent | UserPrompt | ToolRun | ToolResultEvent | Branched | Stored | TurnNote | Fallback
)
"""Everything a turn yields."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know that is not part of a turn (storage trouble, say).

    Delivered through the conversation's ``on_notice`` callback, not the turn's
    events: storage runs beside the turn and may speak up at any time, and so do
    MCP servers. ``source`` says what it is about: ``storage``, ``mcp``, or
    ``context`` (compaction, the ``AGENTS.md`` files), which a headless run
    writes to stderr as it happens.
    """

    text: str
    level: NoticeLevel = "warning"
    source: NoticeSource = "storage"
    type: ClassVar[str] = "notice"


@dataclass(frozen=True, slots=True)
class CompactionNotice(Notice):
    """The context was compacted (by ``/compact`` or by itself): what was done.

    The app draws the "compacted" divider from it; headless writes ``text`` to
    stderr. A failed auto-compaction is a plain ``Notice``.
    """

    compacted: Compacted | None = None
    type: ClassVar[str] = "compaction"
