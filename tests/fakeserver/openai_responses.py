"""OpenAI Responses streaming (``POST /v1/responses``, ``stream: true``).

Every event has an ``event:`` line equal to its ``type`` and a ``sequence_number``.
Output items, in script order: ``reasoning`` (summary part/text events;
``encrypted_content`` only on ``output_item.done``), ``message`` (content part,
``output_text`` deltas) and ``function_call`` (argument deltas). The terminal
event is ``response.completed``, or ``response.incomplete`` with
``incomplete_details.reason`` for the ``length`` and ``content_filter`` finishes.
"""

from __future__ import annotations

from typing import Any

from tests.fakeserver.base import FIXED_CREATED, Renderer, compact, sse
from tests.fakeserver.openai_chat import openai_error
from tests.fakeserver.script import Reply, Text, Thinking, ToolCall, pieces

INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


class OpenAIResponsesRenderer(Renderer):
    """Renders a ``Reply`` as Responses API events."""

    name = "openai"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._payloads: list[dict[str, Any]] = []

    @property
    def response_id(self) -> str:
        """The ``resp_…`` id of this response."""
        return f"resp_fake{self.ctx.serial:06d}"

    def _response(
        self, reply: Reply, status: str, output: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        response: dict[str, Any] = {
            "id": self.response_id,
            "object": "response",
            "created_at": FIXED_CREATED,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": reply.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "tool_choice": "auto",
            "tools": [],
            "usage": None,
            "metadata": {},
        }
        response.update(extra)
        return response

    def _emit(self, kind: str, **fields: Any) -> None:
        self._payloads.append({"type": kind, **fields})

    def events(self, reply: Reply) -> list[bytes]:
        self._payloads = []
        self._emit("response.created", response=self._response(reply, "in_progress", []))
        self._emit("response.in_progress", response=self._response(reply, "in_progress", []))
        output: list[dict[str, Any]] = []
        for index, step in enumerate(reply.steps):
            if isinstance(step, Thinking):
                output.append(self._reasoning(index, step))
            elif isinstance(step, Text):
                output.append(self._message(index, step))
            elif isinstance(step, ToolCall):
                output.append(self._function_call(index, step))
        tokens = reply.token_usage()
        usage = {
            "input_tokens": tokens["input_tokens"],
            "input_tokens_details": {"cached_tokens": tokens["cached_tokens"]},
            "output_tokens": tokens["output_tokens"],
            "output_tokens_details": {"reasoning_tokens": tokens["thinking_tokens"]},
            "total_tokens": tokens["input_tokens"] + tokens["output_tokens"],
        }
        finish = reply.finish_reason()
        if finish in INCOMPLETE:
            response = self._response(
                reply,
                "incomplete",
                output,
                usage=usage,
                incomplete_details={"reason": INCOMPLETE[finish]},
            )
            self._emit("response.incomplete", response=response)
        else:
            response = self._response(reply, "completed", output, usage=usage)
            self._emit("response.completed", response=response)
        return [self._encode(payload, seq) for seq, payload in enumerate(self._payloads)]

    def _encode(self, payload: dict[str, Any], seq: int) -> bytes:
        payload["sequence_number"] = seq
        return sse(compact(payload), event=payload["type"])

    def _reasoning(self, index: int, step: Thinking) -> dict[str, Any]:
        item_id = f"rs_fake{self.ctx.serial:06d}_{index}"
        added: dict[str, Any] = {
            "id": item_id,
            "type": "reasoning",
            "summary": [],
            "encrypted_content": None,
        }
        self._emit("response.output_item.added", output_index=index, item=added)
        part = {"type": "summary_text", "text": ""}
        where = {"item_id": item_id, "output_index": index, "summary_index": 0}
        self._emit("response.reasoning_summary_part.added", **where, part=part)
        for piece in pieces(step.text, step.chunk):
            self._emit("response.reasoning_summary_text.delta", **where, delta=piece)
        self._emit("response.reasoning_summary_text.done", **where, text=step.text)
        done_part = {"type": "summary_text", "text": step.text}
        self._emit("response.reasoning_summary_part.done", **where, part=done_part)
        item = {
            "id": item_id,
            "type": "reasoning",
            "summary": [done_part],
            "encrypted_content": f"enc-{step.signature}" if step.signature is not None else None,
        }
        self._emit("response.output_item.done", output_index=index, item=item)
        return item

    def _message(self, index: int, step: Text) -> dict[str, Any]:
        item_id = f"msg_fake{self.ctx.serial:06d}_{index}"
        added = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        self._emit("response.output_item.added", output_index=index, item=added)
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        self._emit("response.content_part.added", **where, part=empty)
        for piece in pieces(step.text, step.chunk):
            self._emit("response.output_text.delta", **where, delta=piece, logprobs=[])
        self._emit("response.output_text.done", **where, text=step.text, logprobs=[])
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": step.text}
        self._emit("response.content_part.done", **where, part=part)
        item = {**added, "status": "completed", "content": [part]}
        self._emit("response.output_item.done", output_index=index, item=item)
        return item

    def _function_call(self, index: int, step: ToolCall) -> dict[str, Any]:
        item_id = f"fc_fake{self.ctx.serial:06d}_{index}"
        added = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": step.id or f"call_fake{self.ctx.serial:06d}_{index}",
            "name": step.name,
        }
        self._emit("response.output_item.added", output_index=index, item=added)
        where = {"item_id": item_id, "output_index": index}
        arguments = step.arguments_json
        for piece in pieces(arguments, step.chunk):
            self._emit("response.function_call_arguments.delta", **where, delta=piece)
        self._emit("response.function_call_arguments.done", **where, arguments=arguments)
        item = {**added, "status": "completed", "arguments": arguments}
        self._emit("response.output_item.done", output_index=index, item=item)
        return item

    def error_events(self, error: dict[str, Any] | None, sent: int) -> list[bytes]:
        inner = error or {
            "type": "server_error",
            "code": "server_error",
            "message": "The server had an error while processing your request (fake server).",
            "param": None,
        }
        failed = {
            "id": self.response_id,
            "object": "response",
            "created_at": FIXED_CREATED,
            "status": "failed",
            "error": {"code": inner.get("code"), "message": inner.get("message")},
            "incomplete_details": None,
            "output": [],
            "usage": None,
        }
        return [
            self._encode({"type": "error", "error": inner}, sent),
            self._encode({"type": "response.failed", "response": failed}, sent + 1),
        ]

    def malformed_event(self) -> bytes:
        return sse(
            '{"type":"response.output_text.delta","delta":"oops","sequence_nu',
            event="response.output_text.delta",
        )

    def error_body(self, status: int, message: str, reply: Reply | None) -> dict[str, Any]:
        return openai_error(status, message)
