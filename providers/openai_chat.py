"""OpenAI Chat Completions (``POST {base}/chat/completions``), and every compatible server.

Ollama, llama.cpp, vLLM, DeepSeek and OpenRouter speak this format with small
variations, all handled here: reasoning arrives as ``reasoning_content`` or
``reasoning`` delta fields; usage arrives on the finish chunk or on a final
``choices: []`` chunk (or not at all); an ``error`` object may arrive inside
the stream; some servers end tool-call answers with ``finish_reason: "stop"``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ikigai.providers.base import HttpProvider, Normalizer
from ikigai.providers.errors import error_from_payload
from ikigai.providers.events import (
    Done,
    Error,
    FinishReason,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from ikigai.providers.request import (
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

_EFFORT = {"min": "minimal", "low": "low", "med": "medium", "high": "high"}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def takes_reasoning_effort(model: str) -> bool:
    """Whether an OpenAI model accepts ``reasoning_effort`` (the o-series and gpt-5)."""
    return model.startswith(_REASONING_PREFIXES)


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
        if request.thinking and takes_reasoning_effort(request.model):
            body["reasoning_effort"] = _EFFORT[request.thinking]
        if request.max_output_tokens:
            key = "max_completion_tokens" if self._is_openai() else "max_tokens"
            body[key] = request.max_output_tokens
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
        return [{"role": "user", "content": message.text()}]
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


def _usage(raw: dict[str, Any]) -> Usage:
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    cached = prompt_details.get("cached_tokens") or raw.get("prompt_cache_hit_tokens") or 0
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        thinking_tokens=int(completion_details.get("reasoning_tokens") or 0),
        cached_tokens=int(cached),
        total_tokens=int(raw.get("total_tokens") or prompt + completion),
    )


class ChatNormalizer(Normalizer):
    """Chat Completions chunks to normalized events."""

    __slots__ = (
        "_ended",
        "_finish",
        "_model",
        "_open_calls",
        "_refused",
        "_response_id",
        "_started",
        "_tool_count",
        "_usage",
    )

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._finish: str | None = None
        self._usage = Usage()
        self._open_calls: list[int] = []
        self._tool_count = 0
        self._refused = False
        self._response_id: str | None = None
        self._ended = False

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        data = event.data
        if self._ended:
            return []
        if data == "[DONE]":
            self._ended = True
            return [*self._close_calls(), self._done()]
        try:
            chunk = json.loads(data)
        except ValueError:
            self._ended = True
            return [Error("server", f"malformed JSON in the stream: {data[:120]!r}")]
        if not isinstance(chunk, dict):
            self._ended = True
            return [Error("server", f"unexpected stream data: {data[:120]!r}")]
        out: list[StreamEvent] = []
        if not self._started:
            self._started = True
            self._response_id = chunk.get("id")
            out.append(Start(chunk.get("model") or self._model))
        if chunk.get("error"):
            self._ended = True
            out.append(error_from_payload(chunk))
            return out
        usage = chunk.get("usage")
        if usage:
            self._usage = _usage(usage)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                self._delta(delta, out)
            finish = choice.get("finish_reason")
            if finish:
                self._finish = finish
                out.extend(self._close_calls())
        return out

    def _delta(self, delta: dict[str, Any], out: list[StreamEvent]) -> None:
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if thinking and isinstance(thinking, str):
            out.append(ThinkingDelta(0, thinking))
        text = delta.get("content")
        if text and isinstance(text, str):
            out.append(TextDelta(0, text))
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            self._refused = True
            out.append(TextDelta(0, refusal))
        calls = delta.get("tool_calls")
        if calls:
            for call in calls:
                self._tool_delta(call, out)

    def _tool_delta(self, call: dict[str, Any], out: list[StreamEvent]) -> None:
        index = call.get("index", 0)
        function = call.get("function") or {}
        if index not in self._open_calls:
            self._open_calls.append(index)
            self._tool_count += 1
            call_id = call.get("id") or f"call_{index}"
            out.append(ToolCallStart(index, call_id, function.get("name") or ""))
        arguments = function.get("arguments")
        if arguments:
            out.append(ToolCallDelta(index, arguments))

    def _close_calls(self) -> list[StreamEvent]:
        done: list[StreamEvent] = [ToolCallDone(index) for index in self._open_calls]
        self._open_calls = []
        return done

    def _done(self) -> Done:
        finish: FinishReason
        finish = "unknown" if self._finish is None else _FINISH.get(self._finish, "unknown")
        if finish == "stop" and self._tool_count:
            finish = "tool_use"
        if finish == "stop" and self._refused:
            finish = "content_filter"
        data: dict[str, Any] = {}
        if self._response_id:
            data["response_id"] = self._response_id
        if self._refused:
            data["refusal"] = True
        return Done(finish, self._usage, data)

    def finish(self, unterminated: bool) -> list[StreamEvent]:
        # A stream that delivered its finish reason and then closed without
        # `[DONE]` is complete: everything the model sent has arrived. Without
        # a finish reason the answer was cut off, which is a network failure.
        if self._ended:
            return []
        self._ended = True
        if self._finish is not None:
            return [*self._close_calls(), self._done()]
        return [Error("network", "the stream ended before the model finished")]
