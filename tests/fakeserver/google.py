"""Gemini ``streamGenerateContent`` (``POST /v1beta/models/{model}:streamGenerateContent``).

With ``?alt=sse``: ``data:`` lines separated by ``\\r\\n\\r\\n``, no ``event:`` line
and no terminator but EOF. Each chunk is a whole ``GenerateContentResponse``
holding only new parts: ``thought: true`` parts for thinking, plain text parts,
whole ``functionCall`` parts (no id). The thinking signature rides as
``thoughtSignature`` on the first non-thought part after the thoughts. A final
chunk holds an empty text part, ``finishReason`` and the full ``usageMetadata``.
Without ``alt=sse`` the same chunks form a JSON array, as the real API sends.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakeserver.base import Renderer, format_seconds, retry_seconds, sse
from tests.fakeserver.script import Reply, Text, Thinking, ToolCall, pieces

FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_use": "STOP", "content_filter": "SAFETY"}

STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

SEPARATOR = b"\r\n\r\n"


class GoogleRenderer(Renderer):
    """Renders a ``Reply`` as Gemini stream chunks (SSE, or a JSON array without alt=sse)."""

    name = "google"
    request_id_header = "x-goog-request-id"

    @property
    def sse_mode(self) -> bool:
        """Whether the client asked for SSE (``alt=sse``) rather than a JSON array."""
        return "alt=sse" in self.ctx.query.split("&")

    def stream_content_type(self) -> str:
        return "text/event-stream" if self.sse_mode else "application/json; charset=UTF-8"

    def _frame(self, payloads: list[str]) -> list[bytes]:
        if self.sse_mode:
            return [sse(p, sep=SEPARATOR) for p in payloads]
        if not payloads:
            return [b"[]"]
        framed = [b"[" + payloads[0].encode()]
        framed.extend(b"\n,\r\n" + p.encode() for p in payloads[1:])
        framed[-1] += b"]"
        return framed

    def events(self, reply: Reply) -> list[bytes]:
        tokens = reply.token_usage()
        envelope = {
            "modelVersion": reply.model,
            "responseId": f"fakeResp{self.ctx.serial:06d}",
        }
        partial_usage = {
            "promptTokenCount": tokens["input_tokens"],
            "totalTokenCount": tokens["input_tokens"],
        }

        def chunk(part: dict[str, Any], usage: dict[str, Any], **candidate: Any) -> str:
            content = {"parts": [part], "role": "model"}
            body = {
                "candidates": [{"content": content, **candidate, "index": 0}],
                "usageMetadata": usage,
                **envelope,
            }
            return json.dumps(body, ensure_ascii=False)

        payloads: list[str] = []
        signature: str | None = None

        def signed(part: dict[str, Any]) -> dict[str, Any]:
            nonlocal signature
            if signature is not None:
                part["thoughtSignature"] = signature
                signature = None
            return part

        for step in reply.steps:
            if isinstance(step, Thinking):
                payloads.extend(
                    chunk({"text": p, "thought": True}, partial_usage)
                    for p in pieces(step.text, step.chunk)
                )
                if step.signature is not None:
                    signature = step.signature
            elif isinstance(step, Text):
                payloads.extend(
                    chunk(signed({"text": p}), partial_usage) for p in pieces(step.text, step.chunk)
                )
            elif isinstance(step, ToolCall):
                call = {"name": step.name, "args": step.arguments_object()}
                payloads.append(chunk(signed({"functionCall": call}), partial_usage))
        usage: dict[str, Any] = {
            "promptTokenCount": tokens["input_tokens"],
            "candidatesTokenCount": tokens["output_tokens"],
            "totalTokenCount": tokens["input_tokens"]
            + tokens["output_tokens"]
            + tokens["thinking_tokens"],
        }
        if tokens["thinking_tokens"]:
            usage["thoughtsTokenCount"] = tokens["thinking_tokens"]
        if tokens["cached_tokens"]:
            usage["cachedContentTokenCount"] = tokens["cached_tokens"]
        finish = FINISH[reply.finish_reason()]
        payloads.append(chunk(signed({"text": ""}), usage, finishReason=finish))
        return self._frame(payloads)

    def error_events(self, error: dict[str, Any] | None, sent: int) -> list[bytes]:
        inner = error or {
            "code": 503,
            "message": "The model is overloaded. Please try again later. (fake server)",
            "status": "UNAVAILABLE",
        }
        data = json.dumps({"error": inner})
        if self.sse_mode:
            return [sse(data, sep=SEPARATOR)]
        return [b"\n,\r\n" + data.encode() + b"]"]

    def malformed_event(self) -> bytes:
        broken = '{"candidates": [{"content": {"parts": [{"text": "oops'
        if self.sse_mode:
            return sse(broken, sep=SEPARATOR)
        return b"\n,\r\n" + broken.encode()

    def retry_headers(self, reply: Reply) -> dict[str, str]:
        # Gemini carries the delay in the body (RetryInfo), never in a header.
        return {}

    def error_body(self, status: int, message: str, reply: Reply | None) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": STATUSES.get(status, "INTERNAL" if status >= 500 else "UNKNOWN"),
        }
        delay = retry_seconds(reply) if reply is not None else None
        if delay is not None:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": format_seconds(delay),
                }
            ]
        return {"error": error}
