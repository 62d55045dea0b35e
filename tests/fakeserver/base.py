"""What every wire renderer provides, and the small helpers they share.

A renderer turns one ``Reply`` into the complete list of encoded SSE events
*before* anything is written, so the server can send them in a few large writes
(a benchmark streams ~10,000 events through it) and can cut, stall or corrupt
the stream at an exact event boundary.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from tests.fakeserver.script import Reply

FIXED_CREATED = 1_767_225_600
"""A fixed Unix timestamp (2026-01-01) so rendered bytes are reproducible."""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Per-request facts a renderer may use: a serial for unique ids, the URL parts."""

    serial: int
    path: str
    query: str


def sse(data: str, event: str | None = None, sep: bytes = b"\n\n") -> bytes:
    """One SSE event: an optional ``event:`` line, one ``data:`` line, the separator."""
    head = f"event: {event}\n" if event is not None else ""
    return (f"{head}data: {data}").encode() + sep


def compact(obj: Any) -> str:
    """JSON without spaces, as OpenAI and Anthropic send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def format_seconds(value: str) -> str:
    """A retry delay as Google's proto Duration string (``"2s"``, ``"0.5s"``)."""
    seconds = float(value)
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def retry_seconds(reply: Reply) -> str | None:
    """The reply's retry delay in seconds (``retry_after`` wins over ``retry_after_ms``)."""
    if reply.retry_after is not None:
        return reply.retry_after
    if reply.retry_after_ms is not None:
        return str(float(reply.retry_after_ms) / 1000)
    return None


class Renderer(ABC):
    """One wire format: its stream events, its mid-stream error, its HTTP error bodies."""

    name: ClassVar[str]
    request_id_header: ClassVar[str] = "x-request-id"

    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx

    @property
    def request_id(self) -> str:
        """A vendor-looking request id, unique per request."""
        return f"req_fake{self.ctx.serial:06d}"

    @abstractmethod
    def events(self, reply: Reply) -> list[bytes]:
        """All encoded events of a normal stream, the terminator (if any) last."""

    @abstractmethod
    def error_events(self, error: dict[str, Any] | None, sent: int) -> list[bytes]:
        """The vendor's mid-stream error event(s) after ``sent`` normal events.

        ``error`` replaces the vendor's inner error object when given.
        """

    @abstractmethod
    def malformed_event(self) -> bytes:
        """One event shaped like the format's events whose data is broken JSON."""

    @abstractmethod
    def error_body(self, status: int, message: str, reply: Reply | None) -> dict[str, Any]:
        """The vendor's JSON error body for an HTTP ``status``."""

    def retry_headers(self, reply: Reply) -> dict[str, str]:
        """Headers announcing the retry delay (OpenAI and Anthropic use headers)."""
        headers: dict[str, str] = {}
        if reply.retry_after is not None:
            headers["retry-after"] = reply.retry_after
        if reply.retry_after_ms is not None:
            headers["retry-after-ms"] = reply.retry_after_ms
        return headers

    def stream_content_type(self) -> str:
        """Content type of a 200 stream."""
        return "text/event-stream; charset=utf-8"

    def error_content_type(self) -> str:
        """Content type of an HTTP error body."""
        return "application/json"


def default_error_message(status: int) -> str:
    """A short human message for a status, like the vendors' own."""
    messages = {
        400: "Invalid request (fake server).",
        401: "Invalid API key (fake server).",
        403: "Permission denied (fake server).",
        404: "Model not found (fake server).",
        408: "Request timed out (fake server).",
        409: "Conflict (fake server).",
        413: "Request too large (fake server).",
        429: "Rate limit reached (fake server).",
        500: "Internal server error (fake server).",
        502: "Bad gateway (fake server).",
        503: "The model is overloaded (fake server).",
        504: "Gateway timeout (fake server).",
        529: "Overloaded (fake server).",
    }
    return messages.get(status, f"HTTP {status} (fake server).")
