"""OpenAI Responses API (``POST {base}/responses``), stateless.

Every request carries the whole conversation (``store: false``), so nothing has
to live on OpenAI's side between turns. Reasoning models need their reasoning
items back on the next turn when they called tools; with ``store: false`` those
items are only usable with their ``encrypted_content``, which the request asks
for with ``include: ["reasoning.encrypted_content"]``. The finished output items
(from ``response.output_item.done``) are kept in ``Done.provider_data`` and
replayed verbatim, in order, when the same provider continues the conversation.

The stream has no finish reason of its own: it is derived from the terminal
``response.completed`` / ``response.incomplete`` / ``response.failed`` event.

The items kept are the terminal response's ``output`` merged with the
``output_item.done`` copies: the terminal one wins field by field, so each
reasoning item keeps exactly one ciphertext, the final one (an ``.added``
copy's ``encrypted_content`` is provisional), whichever event carried it.
Assistant messages keep their ``phase`` (``commentary`` / ``final_answer``)
and send it back; a model that uses phases gets one inferred for history
without it (text followed by a tool call is commentary).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ikigai.providers.base import HttpProvider
from ikigai.providers.errors import NON_RETRYABLE_CODES, error_from_payload
from ikigai.providers.events import (
    Done,
    Error,
    FinishReason,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from ikigai.providers.normalizer import JsonNormalizer, Normalizer, token_count
from ikigai.providers.openai_models import (
    DEFAULT_MODEL,
    MODELS,
    model_lookup,
    model_spec,
    reasoning_effort,
    sampling_params,
)
from ikigai.providers.request import (
    ImageBlock,
    Message,
    Request,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from ikigai.providers.sse import SSEEvent

PROVIDER_ID = "openai"
__all__ = ["DEFAULT_MODEL", "MODELS", "OpenAIResponsesProvider", "ResponsesNormalizer"]

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


def is_summary_refusal(error: Error) -> bool:
    """Whether ``error`` is OpenAI refusing reasoning summaries to an unverified organization.

    The body says e.g. "Your organization must be verified to generate reasoning
    summaries. Please go to: ...", with ``param: "reasoning.summary"``.
    """
    if error.http_status != 400:
        return False
    message = error.message.lower()
    return "verif" in message and "reasoning summar" in message


class OpenAIResponsesProvider(HttpProvider):
    """Streams the Responses API statelessly, replaying encrypted reasoning items."""

    id: ClassVar[str] = PROVIDER_ID
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    # Accounts (base URL + key fingerprint) whose organization may not receive
    # reasoning summaries. Process-wide: one refusal is enough for the session,
    # and later requests must not pay a failed round trip each time.
    _no_summary: ClassVar[set[tuple[str, str]]] = set()

    def url(self, request: Request) -> str:
        return self.options.base_url.rstrip("/") + "/responses"

    def auth_headers(self) -> dict[str, str]:
        key = self.options.api_key
        return {"authorization": f"Bearer {key}"} if key else {}

    def model_warning(self, model: str) -> str | None:
        return model_lookup(model, PROVIDER_ID).warning

    def _account(self) -> tuple[str, str]:
        # Verification is a property of the organization, which the key names;
        # only a fingerprint of the key is kept.
        key = self.options.api_key or ""
        fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]
        return (self.options.base_url.rstrip("/"), fingerprint)

    @property
    def summaries_allowed(self) -> bool:
        """False once this account was refused reasoning summaries in this process."""
        return self._account() not in self._no_summary

    def body(self, request: Request) -> dict[str, Any]:
        spec = model_spec(request.model)
        body: dict[str, Any] = {
            "model": request.model,
            "stream": True,
            "store": False,
        }
        if request.system:
            body["instructions"] = request.system
        body["input"] = serialize_input(request.messages, phase="phase" in spec.features)
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    "strict": False,
                }
                for tool in request.tools
            ]
            if not request.allow_tool_calls:
                body["tool_choice"] = "none"
        if spec.thinking != "none":
            # Reasoning models produce reasoning items whatever the level; they
            # can only be replayed statelessly with their encrypted content.
            body["include"] = ["reasoning.encrypted_content"]
            if request.thinking:
                effort = reasoning_effort(spec, request.thinking)
                reasoning: dict[str, str] = {"effort": effort or "medium"}
                if self.summaries_allowed:
                    reasoning["summary"] = "auto"
                body["reasoning"] = reasoning
        if request.max_output_tokens:
            body["max_output_tokens"] = request.max_output_tokens
        body.update(sampling_params(spec, request.temperature, request.top_p))
        return body

    def adjust_after_error(self, request: Request, error: Error) -> bool:
        """Resend once without reasoning summaries when the organization is not verified."""
        if (
            request.thinking
            and self.summaries_allowed
            and model_spec(request.model).thinking != "none"
            and is_summary_refusal(error)
        ):
            self._no_summary.add(self._account())
            return True
        return False

    def normalizer(self, request: Request) -> Normalizer:
        return ResponsesNormalizer(request.model)


# -- request serialization -------------------------------------------------------------------


def serialize_input(messages: list[Message], *, phase: bool = False) -> list[dict[str, Any]]:
    """The ``input`` items for a conversation, in order.

    ``phase``: the model labels assistant messages, so every assistant message
    item goes out with one (its own, else inferred).
    """
    items: list[dict[str, Any]] = []
    for message in messages:
        serialized = _serialize(message)
        if phase and message.role == "assistant":
            serialized = with_phases(serialized)
        items.extend(serialized)
    return items


def with_phases(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` with a ``phase`` on every assistant message that has none.

    A message followed by a tool call in the same turn is ``commentary``, the
    others are the ``final_answer``: how the models that use phases label them.
    """
    out: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        if _is_assistant_message(item) and not item.get("phase"):
            later_call = any(i.get("type") == "function_call" for i in items[position + 1 :])
            item = {**item, "phase": "commentary" if later_call else "final_answer"}
        out.append(item)
    return out


def _is_assistant_message(item: dict[str, Any]) -> bool:
    return item.get("role") == "assistant" and item.get("type", "message") == "message"


def _function_call_output(result: ToolResultBlock) -> dict[str, Any]:
    output: str | list[dict[str, Any]] = result.output
    if result.images:
        output = [{"type": "input_text", "text": result.output}] if result.output else []
        output += [
            {"type": "input_image", "image_url": f"data:{image.mime_type};base64,{image.data}"}
            for image in result.images
        ]
    return {"type": "function_call_output", "call_id": result.tool_call_id, "output": output}


def _serialize(message: Message) -> list[dict[str, Any]]:
    if message.role == "user":
        return [{"role": "user", "content": _user_content(message)}]
    if message.role == "tool":
        return [_function_call_output(result) for result in message.tool_results()]
    native = _native_items(message)
    if native is not None:
        results = [_function_call_output(r) for r in message.tool_results()]
        return [*native, *results]
    return _assistant_items(message)


def _user_content(message: Message) -> str | list[dict[str, Any]]:
    """A user message's content: its text, or ``input_text``/``input_image`` parts."""
    if not message.images():
        return message.text()
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            parts.append({"type": "input_text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"type": "input_image", "image_url": block.data_url(), "detail": "auto"})
    return parts


def _native_items(message: Message) -> list[dict[str, Any]] | None:
    """This provider's own output items for an assistant message, ready to replay."""
    if message.provider != PROVIDER_ID:
        return None
    output = message.provider_data.get("output")
    if not isinstance(output, list) or not output:
        return None
    items: list[dict[str, Any]] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        # With store=false a reasoning item is only usable with its encrypted
        # content; without it the API answers "item not found". A function call
        # without its reasoning item is accepted, so dropping it is safe.
        if item.get("type") == "reasoning" and not item.get("encrypted_content"):
            continue
        items.append(item)
    return items


def _assistant_items(message: Message) -> list[dict[str, Any]]:
    """Output items built from generic blocks (history from another provider)."""
    items: list[dict[str, Any]] = []
    text: list[str] = []

    def flush_text() -> None:
        if text:
            joined = "".join(text)
            text.clear()
            if joined:
                items.append(
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": joined}],
                    }
                )

    for block in message.content:
        if isinstance(block, TextBlock):
            text.append(block.text)
        elif isinstance(block, ToolCallBlock):
            flush_text()
            items.append(
                {
                    "type": "function_call",
                    "call_id": block.id,
                    "name": block.name,
                    "arguments": block.arguments or "{}",
                }
            )
        elif isinstance(block, ToolResultBlock):
            flush_text()
            items.append(_function_call_output(block))
        # Thinking from another provider has no encrypted content OpenAI can use.
    flush_text()
    return items


# -- stream normalization --------------------------------------------------------------------


def usage_from(raw: object) -> Usage:
    """A ``Usage`` from a Responses ``usage`` object (zeros when absent)."""
    if not isinstance(raw, Mapping):
        return Usage()
    input_tokens = token_count(raw.get("input_tokens"))
    output_tokens = token_count(raw.get("output_tokens"))
    input_details = raw.get("input_tokens_details")
    output_details = raw.get("output_tokens_details")
    cached = (
        token_count(input_details.get("cached_tokens")) if isinstance(input_details, Mapping) else 0
    )
    reasoning = (
        token_count(output_details.get("reasoning_tokens"))
        if isinstance(output_details, Mapping)
        else 0
    )
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        thinking_tokens=reasoning,
        cached_tokens=cached,
        total_tokens=token_count(raw.get("total_tokens")) or input_tokens + output_tokens,
    )


def _int(value: object) -> int:
    return value if type(value) is int else 0


class ResponsesNormalizer(JsonNormalizer):
    """Responses API stream events to normalized events.

    Events are dispatched on the JSON ``type`` (the SSE ``event:`` name only as
    a fallback); ``sequence_number`` is not needed and may be absent (2025-03
    recordings). Unknown event types are ignored. Tool calls are keyed by
    their ``output_index``.
    """

    __slots__ = (
        "_final_errors",
        "_items",
        "_refused",
        "_text_streamed",
        "_thinking_key",
    )

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._items: dict[int, dict[str, Any]] = {}  # finished items by output_index
        self._text_streamed: set[tuple[int, int]] = set()
        self._thinking_key: tuple[str, int, int] | None = None
        self._refused = False
        self._final_errors: list[Error] = []

    def retryable(self, error: Error) -> bool | None:
        """False for an error this stream reported with a code retrying cannot fix.

        ``insufficient_quota`` arrives as a 429-like rate limit, but waiting does
        not help. None leaves the decision to the error category.
        """
        return False if any(e is error for e in self._final_errors) else None

    def _error(self, payload: dict[str, Any]) -> Error:
        error = error_from_payload(payload, "server")
        inner = payload.get("error")
        codes = {inner.get("code"), inner.get("type")} if isinstance(inner, dict) else set()
        if NON_RETRYABLE_CODES.intersection(c for c in codes if isinstance(c, str)):
            self._final_errors.append(error)
        return error

    def start_model(self, payload: dict[str, Any]) -> object:
        response = payload.get("response")
        return response.get("model") if isinstance(response, dict) else None

    def on_payload(self, event: SSEEvent, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        handler = _HANDLERS.get(payload.get("type") or event.event)
        if handler is not None:
            handler(self, payload, out)

    # -- content ---------------------------------------------------------------------------

    def _on_text_delta(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        output_index = _int(data.get("output_index"))
        self._text_streamed.add((output_index, _int(data.get("content_index"))))
        delta = data.get("delta")
        if isinstance(delta, str) and delta:
            out.append(TextDelta(output_index, delta))

    def _on_text_done(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        # Servers that send only the finished text still get it shown.
        output_index = _int(data.get("output_index"))
        key = (output_index, _int(data.get("content_index")))
        text = data.get("text")
        if key not in self._text_streamed and isinstance(text, str) and text:
            self._text_streamed.add(key)
            out.append(TextDelta(output_index, text))

    def _on_refusal_delta(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        self._refused = True
        delta = data.get("delta")
        if isinstance(delta, str) and delta:
            out.append(TextDelta(_int(data.get("output_index")), delta))

    def _on_summary_delta(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        self._thinking(data, "summary", _int(data.get("summary_index")), out)

    def _on_reasoning_delta(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        self._thinking(data, "text", _int(data.get("content_index")), out)

    def _thinking(self, data: dict[str, Any], kind: str, part: int, out: list[StreamEvent]) -> None:
        delta = data.get("delta")
        if not isinstance(delta, str) or not delta:
            return
        output_index = _int(data.get("output_index"))
        key = (kind, output_index, part)
        if self._thinking_key is not None and key != self._thinking_key:
            # Summary parts are separate paragraphs, often each with its own
            # bold heading; without a blank line they would run together.
            delta = "\n\n" + delta
        self._thinking_key = key
        out.append(ThinkingDelta(output_index, delta))

    # -- tool calls ------------------------------------------------------------------------

    def _on_item_added(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        item = data.get("item")
        if isinstance(item, dict) and item.get("type") == "function_call":
            self._start_call(_int(data.get("output_index")), item, out)

    def _start_call(self, output_index: int, item: dict[str, Any], out: list[StreamEvent]) -> None:
        call_id = item.get("call_id") or item.get("id")
        if self.tools.start(output_index, call_id, item.get("name"), out):
            self.tools.delta(output_index, item.get("arguments"), out)

    def _on_arguments_delta(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        self.tools.delta(_int(data.get("output_index")), data.get("delta"), out)

    def _on_arguments_done(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        self._finish_call(_int(data.get("output_index")), data.get("arguments"), out)

    def _finish_call(self, output_index: int, arguments: object, out: list[StreamEvent]) -> None:
        if not self.tools.has_arguments(output_index):
            # Servers that send the arguments only when they are complete.
            self.tools.delta(output_index, arguments, out)
        self.tools.end(output_index, out)

    def _on_item_done(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        item = data.get("item")
        if not isinstance(item, dict):
            return
        output_index = _int(data.get("output_index"))
        # The finished item, not the `.added` copy: only this one has the final
        # encrypted_content and summary of a reasoning item.
        self._items[output_index] = item
        if item.get("type") == "function_call":
            self._start_call(output_index, item, out)
            self._finish_call(output_index, item.get("arguments"), out)

    # -- terminal events -------------------------------------------------------------------

    def _on_completed(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        response = data.get("response")
        response = response if isinstance(response, dict) else {}
        status = response.get("status")
        finish: FinishReason
        if status == "incomplete" or data.get("type") == "response.incomplete":
            details = response.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, dict) else None
            finish = _INCOMPLETE.get(str(reason), "unknown")
        elif self._refused:
            finish = "content_filter"
        elif self.tools.count or _has_function_call(response.get("output")):
            finish = "tool_use"
        else:
            finish = "stop"
        self.tools.end_all(out)
        out.append(Done(finish, usage_from(response.get("usage")), self._provider_data(response)))

    def _provider_data(self, response: dict[str, Any]) -> dict[str, Any]:
        items = merge_items(
            [self._items[index] for index in sorted(self._items)], response.get("output")
        )
        data: dict[str, Any] = {}
        response_id = response.get("id")
        if isinstance(response_id, str) and response_id:
            data["response_id"] = response_id
        if items:
            data["output"] = items
        if self._refused:
            data["refusal"] = True
        return data

    def _on_failed(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        response = data.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        if isinstance(error, dict) and error:
            out.append(self._error({"error": error}))
        else:
            out.append(Error("server", "the response failed without an error message"))

    def _on_error(self, data: dict[str, Any], out: list[StreamEvent]) -> None:
        nested = data.get("error")
        if isinstance(nested, dict):
            payload: dict[str, Any] = {"error": nested}
        else:
            # The flat shape: code/message/param beside "type": "error".
            payload = {"error": {k: data.get(k) for k in ("code", "message", "param")}}
        out.append(self._error(payload))

    def done_at_eof(self) -> list[StreamEvent] | None:
        # Every terminal event (completed/incomplete/failed/error) returns from
        # `feed`, so reaching here means the body ended before the response did.
        # In this API the finish reason and usage only arrive *in* the terminal
        # event: unlike Chat Completions there is no earlier stop reason that
        # would make a missing terminator harmless. An unterminated trailing
        # event is not dispatched, as the official SDKs do not dispatch it
        # either; so the answer is cut off, and what was delivered stays.
        return None


def merge_items(streamed: list[dict[str, Any]], final: object) -> list[dict[str, Any]]:
    """The output items to keep: the ``output_item.done`` copies, completed from the
    terminal response's ``output`` (matched by ``id``).

    A streamed item is the finished one and wins; a field it lacks (or has as
    ``null``) is taken from the terminal copy, which is how a reasoning item's
    ``encrypted_content`` is kept when only ``response.completed`` carries it.
    Either way an item has exactly one ciphertext. Terminal items never
    streamed are kept too, after the streamed ones; without any streamed item
    the terminal ``output`` is the list.
    """
    terminal = [item for item in final if isinstance(item, dict)] if isinstance(final, list) else []
    if not streamed:
        return terminal
    by_id = {item["id"]: item for item in terminal if isinstance(item.get("id"), str)}
    merged: list[dict[str, Any]] = []
    for item in streamed:
        key = item.get("id")
        partner = by_id.pop(key, None) if isinstance(key, str) else None
        combined = dict(item)
        for name, value in (partner or {}).items():
            if combined.get(name) is None and value is not None:
                combined[name] = value
        merged.append(combined)
    merged.extend(by_id.values())  # terminal items that never streamed
    return merged


def _has_function_call(output: object) -> bool:
    return isinstance(output, list) and any(
        isinstance(item, dict) and item.get("type") == "function_call" for item in output
    )


_Handler = Callable[[ResponsesNormalizer, dict[str, Any], list[StreamEvent]], None]

_HANDLERS: dict[str, _Handler] = {
    "response.output_text.delta": ResponsesNormalizer._on_text_delta,
    "response.output_text.done": ResponsesNormalizer._on_text_done,
    "response.refusal.delta": ResponsesNormalizer._on_refusal_delta,
    "response.reasoning_summary_text.delta": ResponsesNormalizer._on_summary_delta,
    "response.reasoning_text.delta": ResponsesNormalizer._on_reasoning_delta,
    "response.output_item.added": ResponsesNormalizer._on_item_added,
    "response.output_item.done": ResponsesNormalizer._on_item_done,
    "response.function_call_arguments.delta": ResponsesNormalizer._on_arguments_delta,
    "response.function_call_arguments.done": ResponsesNormalizer._on_arguments_done,
    "response.completed": ResponsesNormalizer._on_completed,
    "response.incomplete": ResponsesNormalizer._on_completed,
    "response.failed": ResponsesNormalizer._on_failed,
    "error": ResponsesNormalizer._on_error,
}
