"""Anthropic Messages streaming (``POST /v1/messages``, ``stream: true``).

``message_start`` (input usage), one content block per step (``thinking`` with
its deltas, an empty ``thinking_delta`` and a ``signature_delta`` last; ``text``;
``tool_use`` whose first ``input_json_delta`` is ``""``), a ``ping`` after the
first block starts, ``message_delta`` (stop reason, cumulative usage) and
``message_stop``. Some payloads carry padding spaces before their closing brace,
as the real API does, so a client that compares raw strings fails here too.
"""

from __future__ import annotations

from typing import Any

from tests.fakeserver.base import Renderer, compact, sse
from tests.fakeserver.script import Reply, Text, Thinking, ToolCall, pieces

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_use": "tool_use",
    "content_filter": "refusal",
}

PING = sse('{"type": "ping"}', event="ping")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _padded(obj: dict[str, Any], spaces: int) -> str:
    """Compact JSON with ``spaces`` blanks before the final brace (still valid JSON)."""
    text = compact(obj)
    return text[:-1] + " " * spaces + "}"


class AnthropicRenderer(Renderer):
    """Renders a ``Reply`` as Anthropic Messages events."""

    name = "anthropic"
    request_id_header = "request-id"

    def _event(self, obj: dict[str, Any], pad: int = 0) -> bytes:
        data = _padded(obj, pad) if pad else compact(obj)
        return sse(data, event=obj["type"])

    def events(self, reply: Reply) -> list[bytes]:
        tokens = reply.token_usage()
        message: dict[str, Any] = {
            "model": reply.model,
            "id": f"msg_fake{self.ctx.serial:06d}",
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": tokens["input_tokens"],
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": tokens["cached_tokens"],
                "output_tokens": 1,
                "service_tier": "standard",
            },
        }
        out = [self._event({"type": "message_start", "message": message}, pad=3)]
        for index, step in enumerate(reply.steps):
            out.extend(self._block(index, step))
        if not reply.steps:
            out.append(PING)
        usage: dict[str, Any] = {
            "input_tokens": tokens["input_tokens"],
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": tokens["cached_tokens"],
            "output_tokens": tokens["output_tokens"],
        }
        if tokens["thinking_tokens"]:
            usage["output_tokens_details"] = {"thinking_tokens": tokens["thinking_tokens"]}
        delta = {"stop_reason": STOP_REASONS[reply.finish_reason()], "stop_sequence": None}
        out.append(self._event({"type": "message_delta", "delta": delta, "usage": usage}, pad=5))
        out.append(self._event({"type": "message_stop"}, pad=7))
        return out

    def _block(self, index: int, step: Text | Thinking | ToolCall) -> list[bytes]:
        def delta(body: dict[str, Any]) -> bytes:
            return self._event({"type": "content_block_delta", "index": index, "delta": body})

        out: list[bytes] = []
        start = {"type": "content_block_start", "index": index}
        if isinstance(step, Thinking):
            block = {"type": "thinking", "thinking": "", "signature": ""}
            out.append(self._event({**start, "content_block": block}, pad=6))
            out.extend(
                delta({"type": "thinking_delta", "thinking": p})
                for p in pieces(step.text, step.chunk)
            )
            if step.signature is not None:
                out.append(delta({"type": "thinking_delta", "thinking": ""}))
                out.append(delta({"type": "signature_delta", "signature": step.signature}))
        elif isinstance(step, Text):
            out.append(self._event({**start, "content_block": {"type": "text", "text": ""}}))
            out.extend(
                delta({"type": "text_delta", "text": p}) for p in pieces(step.text, step.chunk)
            )
        else:
            tool_block: dict[str, Any] = {
                "type": "tool_use",
                "id": step.id or f"toolu_fake{self.ctx.serial:06d}_{index}",
                "name": step.name,
                "input": {},
            }
            out.append(self._event({**start, "content_block": tool_block}))
            out.append(delta({"type": "input_json_delta", "partial_json": ""}))
            out.extend(
                delta({"type": "input_json_delta", "partial_json": p})
                for p in pieces(step.arguments_json, step.chunk)
            )
        if index == 0:
            out.insert(1, PING)
        out.append(self._event({"type": "content_block_stop", "index": index}, pad=index % 4))
        return out

    def error_events(self, error: dict[str, Any] | None, sent: int) -> list[bytes]:
        inner = error or {"type": "overloaded_error", "message": "Overloaded"}
        return [sse(compact({"type": "error", "error": inner}), event="error")]

    def malformed_event(self) -> bytes:
        return sse(
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","te',
            event="content_block_delta",
        )

    def error_body(self, status: int, message: str, reply: Reply | None) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": self.request_id,
        }
