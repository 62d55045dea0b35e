"""Normalized stream events: the one vocabulary every provider speaks.

A provider's ``stream(request)`` yields ``Start`` once, then any interleaving of
text, thinking and tool-call events, then exactly one ``Done`` or ``Error``.
``Retry`` is the only extra: it may appear *before* ``Start`` to announce that a
failed attempt is being retried, so a UI or headless run can say so. It is not
part of the wire contract and headless ``--output jsonl`` writes it to stderr.

Events are small frozen dataclasses with ``slots`` because thousands of them
flow per answer; ``to_dict()`` gives the contract's JSON field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

FinishReason = Literal["stop", "length", "tool_use", "content_filter", "error", "unknown"]
ErrorCategory = Literal[
    "auth",
    "rate_limit",
    "invalid_arg",
    "not_found",
    "server",
    "timeout",
    "content_filter",
    "network",
    "unknown",
]

StopDetail = Literal["paused", "context_window", "refusal"]
"""A provider-agnostic refinement of a finish reason (not part of the wire contract):

* ``paused``: the server paused its own tool loop (Anthropic ``pause_turn``);
  the answer is not finished and continues when the response is sent back;
* ``context_window``: the answer stopped at the model's context window, not
  at the output limit (Anthropic ``model_context_window_exceeded``);
* ``refusal``: the model declined, with ``Done.explanation`` saying why when
  the provider said.
"""

FINISH_REASONS: tuple[FinishReason, ...] = (
    "stop",
    "length",
    "tool_use",
    "content_filter",
    "error",
    "unknown",
)
ERROR_CATEGORIES: tuple[ErrorCategory, ...] = (
    "auth",
    "rate_limit",
    "invalid_arg",
    "not_found",
    "server",
    "timeout",
    "content_filter",
    "network",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class Start:
    """The provider accepted the request and the answer begins."""

    model: str
    type: ClassVar[str] = "start"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "start", "model": self.model}


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text for content block ``index``."""

    index: int
    text: str
    type: ClassVar[str] = "text_delta"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text_delta", "index": self.index, "text": self.text}


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's reasoning (or reasoning summary) for block ``index``."""

    index: int
    text: str
    type: ClassVar[str] = "thinking_delta"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "thinking_delta", "index": self.index, "text": self.text}


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    """The model begins tool call number ``index`` (0, 1, ... within one response)."""

    index: int
    id: str
    name: str
    type: ClassVar[str] = "tool_call_start"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_call_start", "index": self.index, "id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of the JSON arguments of tool call ``index``."""

    index: int
    arguments: str
    type: ClassVar[str] = "tool_call_delta"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_call_delta", "index": self.index, "arguments": self.arguments}


@dataclass(frozen=True, slots=True)
class ToolCallDone:
    """Tool call ``index`` is complete: its arguments can be parsed."""

    index: int
    type: ClassVar[str] = "tool_call_done"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_call_done", "index": self.index}


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one response; zero where the provider reported nothing."""

    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "thinking_tokens": self.thinking_tokens,
            "cached_tokens": self.cached_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class Done:
    """The answer ended normally.

    ``provider_data`` holds whatever the same provider needs on the next turn
    (thinking signatures, encrypted reasoning items, response ids). It is opaque
    to everyone but the provider that produced it.

    ``detail``, ``explanation`` and ``server_tools`` are for the engine and the
    screen, not the wire contract (``to_dict`` leaves them out): why the answer
    stopped when the finish reason alone cannot say (``StopDetail``), the
    provider's words for a refusal, and one line per tool the provider ran on
    its side (web search, code execution, MCP) so it can be shown compactly.
    """

    finish_reason: FinishReason
    usage: Usage = field(default_factory=Usage)
    provider_data: dict[str, Any] = field(default_factory=dict)
    detail: StopDetail | None = None
    explanation: str | None = None
    server_tools: tuple[str, ...] = ()
    type: ClassVar[str] = "done"

    @property
    def paused(self) -> bool:
        """Whether the provider paused the answer and expects it sent back to continue."""
        return self.detail == "paused"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "done",
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "provider_data": self.provider_data,
        }


@dataclass(frozen=True, slots=True)
class Error:
    """The answer ended with a failure, classified into a contract category."""

    category: ErrorCategory
    message: str
    http_status: int | None = None
    retry_after_ms: int | None = None
    type: ClassVar[str] = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "error",
            "category": self.category,
            "message": self.message,
            "http_status": self.http_status,
            "retry_after_ms": self.retry_after_ms,
        }


@dataclass(frozen=True, slots=True)
class Retry:
    """A failed attempt will be retried after ``delay_ms`` (not a wire-contract event)."""

    attempt: int
    max_attempts: int
    delay_ms: int
    category: ErrorCategory
    message: str
    http_status: int | None = None
    type: ClassVar[str] = "retry"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "retry",
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "delay_ms": self.delay_ms,
            "category": self.category,
            "message": self.message,
            "http_status": self.http_status,
        }

    def describe(self) -> str:
        """One line for people: ``retrying 2/4 in 3.1 s: rate_limit``."""
        return (
            f"retrying {self.attempt}/{self.max_attempts} in {self.delay_ms / 1000:.1f} s: "
            f"{self.category}"
        )


StreamEvent = (
    Start | TextDelta | ThinkingDelta | ToolCallStart | ToolCallDelta | ToolCallDone | Done | Error
)
"""The contract's events."""

ProviderEvent = StreamEvent | Retry
"""What ``Provider.stream`` yields: the contract's events plus retry notices."""

TERMINAL_TYPES = frozenset({"done", "error"})
