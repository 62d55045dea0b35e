"""OpenAI Chat Completions streaming (``POST /v1/chat/completions``, ``stream: true``).

Shape, as in the recordings: a role chunk, content / ``reasoning_content``
(DeepSeek-style) / ``tool_calls`` deltas, a finish chunk with an empty delta, a
separate ``choices: []`` usage chunk, then ``data: [DONE]``.
"""

from __future__ import annotations

from typing import Any

from tests.fakeserver.base import FIXED_CREATED, Renderer, compact, sse
from tests.fakeserver.script import Reply, Text, Thinking, ToolCall, pieces

FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}

ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


def openai_error(status: int, message: str) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}`` as both OpenAI APIs send it."""
    kind, code = ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class OpenAIChatRenderer(Renderer):
    """Renders a ``Reply`` as ``chat.completion.chunk`` events."""

    name = "openai-chat"

    def _chunk(self, reply: Reply, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk: dict[str, Any] = {
            "id": f"chatcmpl-fake{self.ctx.serial:06d}",
            "object": "chat.completion.chunk",
            "created": FIXED_CREATED,
            "model": reply.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        chunk.update(extra)
        return sse(compact(chunk))

    def _delta(self, reply: Reply, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._chunk(reply, [choice])

    def events(self, reply: Reply) -> list[bytes]:
        out = [self._delta(reply, {"role": "assistant", "content": "", "refusal": None})]
        tool_index = 0
        for n, step in enumerate(reply.steps):
            if isinstance(step, Text):
                out.extend(
                    self._delta(reply, {"content": p}) for p in pieces(step.text, step.chunk)
                )
            elif isinstance(step, Thinking):
                out.extend(
                    self._delta(reply, {"content": None, "reasoning_content": p})
                    for p in pieces(step.text, step.chunk)
                )
            elif isinstance(step, ToolCall):
                call_id = step.id or f"call_fake{self.ctx.serial:06d}_{n}"
                first = {
                    "index": tool_index,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": step.name, "arguments": ""},
                }
                out.append(self._delta(reply, {"tool_calls": [first]}))
                out.extend(
                    self._delta(
                        reply,
                        {"tool_calls": [{"index": tool_index, "function": {"arguments": p}}]},
                    )
                    for p in pieces(step.arguments_json, step.chunk)
                )
                tool_index += 1
        out.append(self._delta(reply, {}, FINISH[reply.finish_reason()]))
        tokens = reply.token_usage()
        usage = {
            "prompt_tokens": tokens["input_tokens"],
            "completion_tokens": tokens["output_tokens"],
            "total_tokens": tokens["input_tokens"] + tokens["output_tokens"],
            "prompt_tokens_details": {"cached_tokens": tokens["cached_tokens"]},
            "completion_tokens_details": {"reasoning_tokens": tokens["thinking_tokens"]},
        }
        out.append(self._chunk(reply, [], usage=usage))
        out.append(sse("[DONE]"))
        return out

    def error_events(self, error: dict[str, Any] | None, sent: int) -> list[bytes]:
        inner = error or {
            "message": "The server had an error while processing your request (fake server).",
            "type": "server_error",
            "param": None,
            "code": "server_error",
        }
        return [sse(compact({"error": inner}))]

    def malformed_event(self) -> bytes:
        return sse('{"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"ind')

    def error_body(self, status: int, message: str, reply: Reply | None) -> dict[str, Any]:
        return openai_error(status, message)
