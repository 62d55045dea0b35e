"""OpenAI Chat Completions (``POST {base}/chat/completions``), and every compatible server.

Ollama, llama.cpp, vLLM, DeepSeek and OpenRouter speak this format with small
variations, all handled here: reasoning arrives as ``reasoning_content`` or
``reasoning`` delta fields; usage arrives on the finish chunk or on a final
``choices: []`` chunk (or not at all); an ``error`` object may arrive inside
the stream; some servers end tool-call answers with ``finish_reason: "stop"``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ikigai.providers.base import HttpProvider
from ikigai.providers.errors import error_from_payload
from ikigai.providers.events import (
    Done,
    FinishReason,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from ikigai.providers.normalizer import JsonNormalizer, Normalizer, token_count
from ikigai.providers.openai_models import model_spec, reasoning_effort, sampling_params
from ikigai.providers.request import (
    ImageBlock,
    Message,
    Request,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from ikigai.providers.sse import SSEEvent

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}


class OpenAIChatProvider(HttpProvider):
    """Chat Completions streaming with ``stream_options.include_usage``."""

    id: ClassVar[str] = "openai-chat"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    def url(self, request: Request) -> str:
        return self.options.base_url.rstrip("/") + "/chat/completions"

    def auth_headers(self) -> dict[str, str]:
        key = self.options.api_key
        return {"authorization": f"Bearer {key}"} if key else {}

    def _is_openai(self) -> bool:
        return "api.openai.com" in self.options.base_url

    def body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": serialize_messages(request),
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in request.tools
            ]
            if not request.allow_tool_calls:
                body["tool_choice"] = "none"
        if request.thinking:
            effort = reasoning_effort(model_spec(request.model), request.thinking)
            if effort is not None:
                body["reasoning_effort"] = effort
        if request.max_output_tokens:
            key = "max_completion_tokens" if self._is_openai() else "max_tokens"
            body[key] = request.max_output_tokens
        body.update(sampling_params(model_spec(request.model), request.temperature, request.top_p))
        return body

    def normalizer(self, request: Request) -> Normalizer:
        return ChatNormalizer(request.model)


def serialize_messages(request: Request) -> list[dict[str, Any]]:
    """The ``messages`` array: system prompt, then each turn in Chat Completions shape."""
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for message in request.messages:
        out.extend(_serialize(message))
    return out


def _serialize(message: Message) -> list[dict[str, Any]]:
    if message.role == "user":
        return [{"role": "user", "content": _user_content(message)}]
    if message.role == "tool":
        return [
            {"role": "tool", "tool_call_id": result.tool_call_id, "content": result.output}
            for result in message.tool_results()
        ]
    text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    entry: dict[str, Any] = {"role": "assistant", "content": text or None}
    calls = [b for b in message.content if isinstance(b, ToolCallBlock)]
    if calls:
        entry["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in calls
        ]
    results = [b for b in message.content if isinstance(b, ToolResultBlock)]
    extra = [{"role": "tool", "tool_call_id": r.tool_call_id, "content": r.output} for r in results]
    return [entry, *extra]


def _user_content(message: Message) -> str | list[dict[str, Any]]:
    """A user message's content: its text, or text and ``image_url`` parts with images."""
    if not message.images():
        return message.text()
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "image_url", "image_url": {"url": block.data_url()}})
    return parts


def _usage(raw: dict[str, Any]) -> Usage:
    prompt = token_count(raw.get("prompt_tokens"))
    completion = token_count(raw.get("completion_tokens"))
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    cached = token_count(raw.get("prompt_cache_hit_tokens"))
    if isinstance(prompt_details, dict):
        cached = token_count(prompt_details.get("cached_tokens")) or cached
    thinking = 0
    if isinstance(completion_details, dict):
        thinking = token_count(completion_details.get("reasoning_tokens"))
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        thinking_tokens=thinking,
        cached_tokens=cached,
        total_tokens=token_count(raw.get("total_tokens")) or prompt + completion,
    )


class ChatNormalizer(JsonNormalizer):
    """Chat Completions chunks to normalized events.

    A tool call starts with the first chunk for a new wire ``index`` that
    carries its id or name; a chunk for an index that never started that way
    is an orphan delta and is dropped (the shared rule of ``ToolCalls``).
    """

    __slots__ = ("_finish", "_refused", "_response_id", "_usage")

    sentinel: ClassVar[str | None] = "[DONE]"

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._finish: str | None = None
        self._usage = Usage()
        self._refused = False
        self._response_id: str | None = None

    def start_model(self, payload: dict[str, Any]) -> object:
        response_id = payload.get("id")
        self._response_id = response_id if isinstance(response_id, str) else None
        return payload.get("model")

    def on_sentinel(self, out: list[StreamEvent]) -> None:
        self.tools.end_all(out)
        out.append(self._done())

    def on_payload(self, event: SSEEvent, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        if payload.get("error"):
            out.append(error_from_payload(payload))
            return
        if "usage" in payload:  # ``in`` first for keys most chunks lack: once per delta
            usage = payload["usage"]
            if isinstance(usage, dict) and usage:
                self._usage = _usage(usage)
        for choice in payload.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                self._delta(delta, out)
            finish = choice.get("finish_reason")
            if finish:
                self._finish = str(finish)
                self.tools.end_all(out)

    def _delta(self, delta: dict[str, Any], out: list[StreamEvent]) -> None:
        if "reasoning_content" in delta or "reasoning" in delta:
            thinking = delta.get("reasoning_content") or delta.get("reasoning")
            if thinking and isinstance(thinking, str):
                out.append(ThinkingDelta(0, thinking))
        text = delta.get("content")
        if text and isinstance(text, str):
            out.append(TextDelta(0, text))
        if "refusal" in delta:
            refusal = delta["refusal"]
            if refusal and isinstance(refusal, str):
                self._refused = True
                out.append(TextDelta(0, refusal))
        calls = delta.get("tool_calls") if "tool_calls" in delta else None
        if calls:
            for call in calls:
                self._tool_delta(call, out)

    def _tool_delta(self, call: dict[str, Any], out: list[StreamEvent]) -> None:
        index = call.get("index", 0)
        function = call.get("function") or {}
        if not self.tools.started(index):
            call_id, name = call.get("id"), function.get("name")
            if not call_id and not name:
                return  # an orphan delta: its call never started
            self.tools.start(index, call_id, name, out)
        self.tools.delta(index, function.get("arguments"), out)

    def _done(self) -> Done:
        finish: FinishReason
        finish = "unknown" if self._finish is None else _FINISH.get(self._finish, "unknown")
        if finish == "stop" and self.tools.count:
            finish = "tool_use"
        if finish == "stop" and self._refused:
            finish = "content_filter"
        data: dict[str, Any] = {}
        if self._response_id:
            data["response_id"] = self._response_id
        if self._refused:
            data["refusal"] = True
        return Done(finish, self._usage, data)

    def done_at_eof(self) -> list[StreamEvent] | None:
        # A stream that delivered its finish reason and then closed without
        # `[DONE]` is complete: everything the model sent has arrived.
        if self._finish is None:
            return None
        out: list[StreamEvent] = []
        self.tools.end_all(out)
        out.append(self._done())
        return out
