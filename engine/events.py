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
    """A tool the client ran, and what it returned to the model."""

    id: str
    name: str
    ok: bool
    output: str
    type: ClassVar[str] = "tool_result"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "tool_result",
            "id": self.id,
            "name": self.name,
            "ok": self.ok,
            "output": self.output,
        }


RunnerEvent = ProviderEvent | UserPrompt | ToolRun | ToolResultEvent
"""Everything a turn yields."""


NoticeLevel = Literal["info", "warning"]
NoticeSource = Literal["storage", "context"]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know that is not part of a turn (storage trouble, say).

    Delivered through the conversation's ``on_notice`` callback, not the turn's
    events: storage runs beside the turn and may speak up at any time.
    ``source`` says what it is about: ``storage``, or ``context`` (compaction,
    the ``AGENTS.md`` files), which a headless run writes to stderr as it happens.
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
