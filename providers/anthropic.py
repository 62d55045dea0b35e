"""Anthropic Messages (``POST {base}/v1/messages``) with ``stream: true``.

The request carries ``max_tokens`` always (the API requires it), thinking per
model family (a token budget, or adaptive thinking with an effort level), and
the conversation in Anthropic's block shape. Assistant turns that came from
this provider are replayed from ``provider_data["content"]``: the native blocks
exactly as they streamed (thinking with its signature, redacted thinking, text,
tool_use with parsed input), because the API checks thinking signatures and
requires the thinking that preceded a tool call to come back with it.

The stream is ``message_start``, then content blocks (start, deltas, stop),
then ``message_delta`` (stop reason and cumulative usage) and ``message_stop``;
``ping`` may come anywhere and ``error`` may interrupt it.

What a request may carry depends on the model (the table below, as the API's
documentation and its 400s say):

* thinking: a token budget (``type: enabled``) up to Claude 4.5; adaptive
  thinking with ``output_config.effort`` from Claude 4.6, and only that from
  Opus 4.7 and the Claude 5 family, which answer 400 to ``budget_tokens``;
* ``temperature`` / ``top_p`` / ``top_k``: refused outright ("temperature is
  deprecated for this model") from Opus 4.7 and the Claude 5 family; with
  thinking on, only ``top_p`` in [0.95, 1] is accepted; temperature and
  top_p are never sent together (Claude 4.5 and later refuse that);
* the interleaved-thinking beta header for the Claude 4 budget models, so they
  think between tool calls (adaptive models interleave without it);
* ``eager_input_streaming`` on every tool for models with fine-grained tool
  input streaming: the input arrives unbuffered and may not be valid JSON
  (a cut-off answer ends inside it), which the normalizer tolerates.

When the API still refuses a thinking form or a sampling parameter for a model
(a newer or dated id the table does not know), the provider learns it from the
400 and resends once without it.

Stop reasons beyond the contract's finish reasons are kept as ``Done.detail``:
``pause_turn`` (a server-side tool loop paused; the engine sends the content
back to continue), ``model_context_window_exceeded`` and ``refusal`` (with the
``stop_details`` explanation). Server-side tool blocks (``server_tool_use``,
``web_search_tool_result``, ``mcp_tool_use``, ...) and citations are kept in
``provider_data["content"]``, replayed as they came, and summarized one line
each in ``Done.server_tools``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, ClassVar

from ikigai.providers.base import HttpProvider
from ikigai.providers.errors import error_from_payload
from ikigai.providers.events import (
    Done,
    Error,
    FinishReason,
    StopDetail,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from ikigai.providers.models import ModelLookup, ModelSpec, lookup
from ikigai.providers.normalizer import JsonNormalizer, Normalizer, token_count
from ikigai.providers.request import (
    ImageBlock,
    Message,
    Request,
    TextBlock,
    ThinkingBlock,
    ThinkingLevel,
    ToolCallBlock,
    ToolResultBlock,
)
from ikigai.providers.sse import SSEEvent

API_VERSION = "2023-06-01"

# Thinking modes of the model table: "budget" sends {"type": "enabled",
# "budget_tokens": N}; "adaptive" sends {"type": "adaptive"} plus
# output_config.effort; "none" sends no thinking field at all.
# Features: "interleaved" asks for the interleaved-thinking beta (Claude 4
# budget models), "eager_tools" marks tools for fine-grained input streaming.
_EAGER = frozenset({"eager_tools"})
_INTERLEAVED = frozenset({"interleaved"})
_CLAUDE_4_5 = frozenset({"interleaved", "eager_tools"})

MODELS: tuple[ModelSpec, ...] = (
    # Adaptive thinking only, and no sampling parameters (400s otherwise).
    ModelSpec("claude-fable-5", "adaptive", 128_000, sampling=False, features=_EAGER),
    ModelSpec("claude-mythos-5", "adaptive", 128_000, sampling=False, features=_EAGER),
    ModelSpec("claude-opus-5", "adaptive", 128_000, sampling=False, features=_EAGER),
    ModelSpec("claude-sonnet-5", "adaptive", 64_000, sampling=False, features=_EAGER),
    ModelSpec("claude-haiku-5", "adaptive", 64_000, sampling=False, features=_EAGER, listed=False),
    ModelSpec("claude-opus-4-8", "adaptive", 128_000, sampling=False, features=_EAGER),
    ModelSpec("claude-opus-4-7", "adaptive", 128_000, sampling=False, features=_EAGER),
    # Adaptive preferred (budget deprecated), sampling accepted.
    ModelSpec("claude-opus-4-6", "adaptive", 128_000, features=_EAGER),
    ModelSpec("claude-sonnet-4-6", "adaptive", 64_000, features=_EAGER),
    # Budget thinking only.
    ModelSpec("claude-opus-4-5", "budget", 64_000, 1024, 48_000, features=_CLAUDE_4_5),
    ModelSpec("claude-opus-4-1", "budget", 32_000, 1024, 24_000, features=_INTERLEAVED),
    ModelSpec("claude-opus-4", "budget", 32_000, 1024, 24_000, features=_INTERLEAVED, listed=False),
    ModelSpec("claude-sonnet-4-5", "budget", 64_000, 1024, 48_000, features=_CLAUDE_4_5),
    ModelSpec(
        "claude-sonnet-4", "budget", 64_000, 1024, 48_000, features=_INTERLEAVED, listed=False
    ),
    ModelSpec("claude-haiku-4-5", "budget", 64_000, 1024, 48_000, features=_CLAUDE_4_5),
    ModelSpec("claude-3-7-sonnet", "budget", 64_000, 1024, 48_000, listed=False),
    ModelSpec("claude-3-5-sonnet", "none", 8192, listed=False),
    ModelSpec("claude-3-5-haiku", "none", 8192, listed=False),
    ModelSpec("claude-3-opus", "none", 4096, listed=False),
    ModelSpec("claude-3-haiku", "none", 4096, listed=False),
)

# A model the table does not know is most likely newer than the table, and the
# newest models accept only adaptive thinking (``enabled`` is a 400 there) and
# no sampling parameters. 32k output tokens is accepted by every current
# thinking model.
DEFAULT_MODEL = ModelSpec("", "adaptive", 32_000, sampling=False)

INTERLEAVED_BETA = "interleaved-thinking-2025-05-14"

THINKING_BUDGETS: dict[ThinkingLevel, int] = {
    "min": 1024,
    "low": 4096,
    "med": 16_384,
    "high": 32_000,
}

# The API's efforts are low | medium | high | max (max only on some models);
# "min" and "low" both ask for the least the API offers.
THINKING_EFFORTS: dict[ThinkingLevel, str] = {
    "min": "low",
    "low": "low",
    "med": "medium",
    "high": "high",
}

# Newer models omit thinking text unless asked; the UI shows it, so ask.
THINKING_DISPLAY = "summarized"

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_use",
    "refusal": "content_filter",
    # The server paused a long server-side tool loop (web search and the
    # like): the turn is neither finished nor waiting for a client tool, and
    # the client continues by sending the response back as it is. None of the
    # contract's reasons says that, so it is "unknown", with Done.detail
    # "paused" telling the engine to continue.
    "pause_turn": "unknown",
}
_DETAIL: dict[str, StopDetail] = {
    "pause_turn": "paused",
    "model_context_window_exceeded": "context_window",
    "refusal": "refusal",
}


def model_spec(model: str) -> ModelLookup:
    """The model-table row for ``model`` (defaults and a warning when unknown)."""
    return lookup(MODELS, model, DEFAULT_MODEL, "anthropic")


def thinking_params(
    spec: ModelSpec, level: ThinkingLevel | None, max_tokens: int
) -> tuple[dict[str, Any], int]:
    """Body fields for thinking ``level`` on a ``spec`` model, and the max_tokens to send.

    A budget must be at least the model's minimum and below ``max_tokens``;
    when the requested output room is too small for the budget, max_tokens is
    raised (thinking counts against it) up to the model's limit, and only then
    is the budget lowered.
    """
    if level is None or spec.thinking == "none":
        return {}, max_tokens
    if spec.thinking == "budget":
        budget = THINKING_BUDGETS[level]
        if spec.max_thinking_budget:
            budget = min(budget, spec.max_thinking_budget)
        budget = max(budget, spec.min_thinking_budget)
        if budget >= max_tokens:
            max_tokens = min(budget + max_tokens, spec.max_output_tokens)
            if budget >= max_tokens:
                budget = max(spec.min_thinking_budget, max_tokens // 2)
                if budget >= max_tokens:
                    max_tokens = budget + max(1, budget // 2)
        thinking = {"type": "enabled", "budget_tokens": budget, "display": THINKING_DISPLAY}
        return {"thinking": thinking}, max_tokens
    return {
        "thinking": {"type": "adaptive", "display": THINKING_DISPLAY},
        "output_config": {"effort": THINKING_EFFORTS[level]},
    }, max_tokens


class AnthropicProvider(HttpProvider):
    """Anthropic's Messages API, streamed."""

    id: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"

    # Models the API told this process (with a 400) that they take adaptive
    # thinking only, or no sampling parameters: learned once, for the session.
    _adaptive_only: ClassVar[set[str]] = set()
    _no_sampling: ClassVar[set[str]] = set()

    def url(self, request: Request) -> str:
        return self.options.base_url.rstrip("/") + "/v1/messages"

    def auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if self.options.api_key:
            headers["x-api-key"] = self.options.api_key
        return headers

    def model_warning(self, model: str) -> str | None:
        return model_spec(model).warning

    def spec(self, model: str) -> ModelSpec:
        """The table row for ``model`` with what the API taught this process applied."""
        spec = model_spec(model).spec
        if model in self._adaptive_only and spec.thinking == "budget":
            spec = replace(spec, thinking="adaptive", features=spec.features - _INTERLEAVED)
        if model in self._no_sampling:
            spec = replace(spec, sampling=False)
        return spec

    def request_headers(self, request: Request) -> dict[str, str]:
        """The interleaved-thinking beta when a budget model thinks and may call tools."""
        spec = self.spec(request.model)
        if (
            "interleaved" in spec.features
            and spec.thinking == "budget"
            and request.thinking is not None
            and request.tools
        ):
            return {"anthropic-beta": INTERLEAVED_BETA}
        return {}

    def body(self, request: Request) -> dict[str, Any]:
        spec = self.spec(request.model)
        max_tokens = request.max_output_tokens or spec.max_output_tokens
        thinking, max_tokens = thinking_params(spec, request.thinking, max_tokens)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": max_tokens,
            "stream": True,
        }
        if request.system:
            body["system"] = request.system
        body["messages"] = serialize_messages(request.messages)
        if request.tools:
            eager = "eager_tools" in spec.features
            tools: list[dict[str, Any]] = []
            for tool in request.tools:
                definition: dict[str, Any] = {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                if eager:
                    definition["eager_input_streaming"] = True
                tools.append(definition)
            body["tools"] = tools
            if not request.allow_tool_calls:
                body["tool_choice"] = {"type": "none"}
        body.update(thinking)
        body.update(sampling_params(spec, request, thinking_on=bool(thinking)))
        return body

    def adjust_after_error(self, request: Request, error: Error) -> bool:
        """Resend once when a 400 says the model refuses budget thinking or sampling."""
        if error.http_status != 400:
            return False
        message = error.message.lower()
        model = request.model
        if (
            "thinking.type.enabled" in message
            and request.thinking is not None
            and model not in self._adaptive_only
        ):
            self._adaptive_only.add(model)
            return True
        refused = any(name in message for name in ("temperature", "top_p", "top_k"))
        if (
            refused
            and ("deprecated" in message or "not supported" in message)
            and model not in self._no_sampling
            and _has_sampling(request)
        ):
            self._no_sampling.add(model)
            return True
        return False

    def normalizer(self, request: Request) -> Normalizer:
        return AnthropicNormalizer(request.model)


def sampling_params(spec: ModelSpec, request: Request, *, thinking_on: bool) -> dict[str, Any]:
    """The sampling fields ``spec``'s model accepts from ``request`` (see the module docstring)."""
    if not spec.sampling or not _has_sampling(request):
        return {}
    top_p = request.top_p
    if thinking_on:
        # With thinking, temperature must be 1 and top_k is refused; top_p may
        # only narrow the distribution a little.
        return {"top_p": top_p} if top_p is not None and 0.95 <= top_p <= 1 else {}
    params: dict[str, Any] = {}
    if request.temperature is not None:
        params["temperature"] = request.temperature
    elif top_p is not None:
        params["top_p"] = top_p
    if request.top_k is not None:
        params["top_k"] = request.top_k
    return params


def _has_sampling(request: Request) -> bool:
    return request.temperature is not None or request.top_p is not None or request.top_k is not None


# -- request serialization ------------------------------------------------------------------


def serialize_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """The ``messages`` array in Anthropic's shape.

    The API wants user and assistant turns to alternate and all results of one
    tool-using turn in one user message, tool_result blocks first; so
    consecutive messages of the same native role are merged (a paused answer
    and its continuation become one assistant turn, as the API built them).
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        for role, blocks in _native(message):
            if not blocks:
                continue
            if out and out[-1]["role"] == role:
                merged = out[-1]["content"] + blocks
                if role == "user":
                    merged = [b for b in merged if b.get("type") == "tool_result"] + [
                        b for b in merged if b.get("type") != "tool_result"
                    ]
                out[-1]["content"] = merged
            else:
                out.append({"role": role, "content": blocks})
    if out and out[-1]["role"] == "assistant":
        _trim_final_text(out[-1])
        if not out[-1]["content"]:
            out.pop()
    return out


def _trim_final_text(turn: dict[str, Any]) -> None:
    """A conversation ending in an assistant turn (a paused answer sent back to
    continue) must not end in whitespace: the API refuses that."""
    content = turn["content"]
    if content and content[-1].get("type") == "text":
        text = str(content[-1].get("text") or "").rstrip()
        if text:
            content[-1] = {**content[-1], "text": text}
        else:
            turn["content"] = content[:-1]


def _native(message: Message) -> list[tuple[str, list[dict[str, Any]]]]:
    """``message`` as (role, blocks) pairs; an assistant message may carry results too."""
    results = [_tool_result(block) for block in message.tool_results()]
    if message.role != "assistant":
        return [("user", results + _user_blocks(message))]
    return [("assistant", _assistant_blocks(message)), ("user", results)]


def _user_blocks(message: Message) -> list[dict[str, Any]]:
    """Text and image blocks of a user message, in order (images as base64 sources)."""
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock) and block.text:
            blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            source = {"type": "base64", "media_type": block.media_type, "data": block.data}
            blocks.append({"type": "image", "source": source})
    return blocks


def _tool_result(block: ToolResultBlock) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = block.output
    if block.images:
        content = [{"type": "text", "text": block.output}] if block.output else []
        content += [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": image.mime_type, "data": image.data},
            }
            for image in block.images
        ]
    result: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": block.tool_call_id,
        "content": content,
    }
    if block.is_error:
        result["is_error"] = True
    return result


def _assistant_blocks(message: Message) -> list[dict[str, Any]]:
    """The assistant turn's blocks: replayed natively when this provider made them."""
    if message.provider == AnthropicProvider.id:
        native = message.provider_data.get("content")
        if isinstance(native, list) and all(isinstance(b, dict) for b in native):
            return [dict(b) for b in native]
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, ThinkingBlock):
            # Thinking from elsewhere has no signature this API can verify; drop it.
            if block.redacted is not None and message.provider == AnthropicProvider.id:
                blocks.append({"type": "redacted_thinking", "data": block.redacted})
            elif block.signature and message.provider == AnthropicProvider.id:
                blocks.append(
                    {"type": "thinking", "thinking": block.text, "signature": block.signature}
                )
        elif isinstance(block, TextBlock):
            if block.text:
                blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolCallBlock):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": block.id,
                    "name": block.name,
                    "input": _parse_input(block.arguments),
                }
            )
    return blocks


def _parse_input(arguments: str) -> Any:
    """Tool input from its JSON text, always an object (the API requires one).

    Empty text is ``{}``. Text that does not parse (fine-grained streaming sends
    input unvalidated, and an answer cut off at ``max_tokens`` ends inside it)
    goes back wrapped as ``{"INVALID_JSON": text}``, the form the API's
    documentation suggests, so what the model wrote is not lost; a JSON value
    that is not an object is wrapped the same way.
    """
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):
        return {"INVALID_JSON": arguments}
    return value if isinstance(value, dict) else {"INVALID_JSON": arguments}


# -- stream normalization -------------------------------------------------------------------


_TOOL_KINDS = ("tool_use", "server_tool_use", "mcp_tool_use")
"""Blocks whose ``input`` streams as JSON; only ``tool_use`` is a call the client runs."""


class _Block:
    """One content block being assembled.

    ``start`` is the block as ``content_block_start`` sent it; the streamed
    pieces are kept in lists and joined once, when the answer is done
    (appending to a string in a dict copies it on every delta, which made a
    long answer quadratic).
    """

    __slots__ = ("citations", "closed", "json_parts", "parts", "signature", "start", "tool")

    def __init__(self, start: dict[str, Any], tool: bool) -> None:
        self.start = start
        self.tool = tool
        self.parts: list[str] = []  # text or thinking, by the block's type
        self.signature: list[str] = []
        self.json_parts: list[str] = []
        self.citations: list[Any] = []
        self.closed = False

    def native(self) -> dict[str, Any]:
        """The block as the API wants it back."""
        native = dict(self.start)
        kind = native.get("type")
        if self.parts:
            field = "thinking" if kind == "thinking" else "text"
            native[field] = str(native.get(field) or "") + "".join(self.parts)
        if self.signature:
            native["signature"] = str(native.get("signature") or "") + "".join(self.signature)
        if self.citations:
            native["citations"] = [*(native.get("citations") or ()), *self.citations]
        if kind in _TOOL_KINDS:
            native["input"] = _parse_input("".join(self.json_parts))
        return native


class AnthropicNormalizer(JsonNormalizer):
    """Messages stream events to normalized events, keeping the native blocks for replay.

    Tool calls are keyed by their block index.
    """

    __slots__ = (
        "_blocks",
        "_message_id",
        "_stop_details",
        "_stop_reason",
        "_usage",
    )

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._blocks: dict[int, _Block] = {}
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._stop_details: Any = None
        self._message_id: str | None = None

    def start_model(self, payload: dict[str, Any]) -> object:
        message = payload.get("message") if payload.get("type") == "message_start" else None
        return message.get("model") if isinstance(message, dict) else None

    def on_payload(self, event: SSEEvent, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        kind = payload.get("type") or event.event
        if event.event == "error" or kind == "error":
            out.append(self._error(payload))
        elif kind == "content_block_delta":
            self._block_delta(payload, out)
        elif kind == "message_start":
            message = payload.get("message") or {}
            message_id = message.get("id")
            self._message_id = message_id if isinstance(message_id, str) else None
            self._merge_usage(message.get("usage"))
        elif kind == "content_block_start":
            self._block_start(payload, out)
        elif kind == "content_block_stop":
            block = self._blocks.get(_index(payload))
            if block is not None:
                self._close(_index(payload), block, out)
        elif kind == "message_delta":
            delta = payload.get("delta") or {}
            if delta.get("stop_reason"):
                self._stop_reason = str(delta["stop_reason"])
                self._stop_details = delta.get("stop_details")
            self._merge_usage(payload.get("usage"))
        elif kind == "message_stop":
            out.extend(self._done())
        # ping and event types added after this was written are ignored.

    def done_at_eof(self) -> list[StreamEvent] | None:
        # The stop reason arrives in message_delta; message_stop only says the
        # body is over. A stream that closed after the stop reason without a
        # (complete) message_stop, as recordings 01, 02 and 09 do, is complete:
        # the official SDKs drop that unterminated last event, and nothing in
        # it matters once the stop reason is known.
        return self._done() if self._stop_reason is not None else None

    # -- pieces -----------------------------------------------------------------------------

    def _error(self, payload: dict[str, Any]) -> Error:
        error = error_from_payload(payload, "server")
        detail = payload.get("error")
        code = detail.get("type") if isinstance(detail, dict) else None
        if isinstance(code, str) and code not in error.message:
            return Error(error.category, f"{code}: {error.message}", None, error.retry_after_ms)
        return Error(error.category, error.message, None, error.retry_after_ms)

    def _block_start(self, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        index = _index(payload)
        start = dict(payload.get("content_block") or {})
        kind = start.get("type")
        block = _Block(start, kind == "tool_use")
        self._blocks[index] = block
        if block.tool:
            self.tools.start(index, start.get("id"), start.get("name"), out)
        if kind in _TOOL_KINDS:
            initial = start.get("input")
            if initial:
                # A non-streamed input arrives whole in the start event.
                arguments = json.dumps(initial, ensure_ascii=False)
                block.json_parts.append(arguments)
                self.tools.delta(index, arguments, out)
        elif kind == "text" and start.get("text"):
            out.append(TextDelta(index, str(start["text"])))
        elif kind == "thinking" and start.get("thinking"):
            out.append(ThinkingDelta(index, str(start["thinking"])))

    def _block_delta(self, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        index = _index(payload)
        delta = payload.get("delta") or {}
        block = self._blocks.get(index)
        if block is None:
            # A delta without its block's start: text is kept rather than lost;
            # a tool-call fragment is dropped (the shared rule: no call started).
            block = _Block({"type": "text", "text": ""}, False)
            self._blocks[index] = block
        elif block.closed:
            return  # after its content_block_stop: the block is final
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if text and isinstance(text, str):
                block.parts.append(text)
                out.append(TextDelta(index, text))
        elif kind == "thinking_delta":
            text = delta.get("thinking")
            if text and isinstance(text, str):
                block.parts.append(text)
                out.append(ThinkingDelta(index, text))
        elif kind == "signature_delta":
            signature = delta.get("signature")
            if signature and isinstance(signature, str):
                block.signature.append(signature)
        elif kind == "input_json_delta":
            part = delta.get("partial_json")
            if part and isinstance(part, str) and block.start.get("type") in _TOOL_KINDS:
                block.json_parts.append(part)
                self.tools.delta(index, part, out)
        elif kind == "citations_delta" and delta.get("citation") is not None:
            block.citations.append(delta["citation"])

    def _close(self, index: int, block: _Block, out: list[StreamEvent]) -> None:
        if block.closed:
            return
        block.closed = True
        if block.tool:
            self.tools.end(index, out)

    def _merge_usage(self, usage: object) -> None:
        # message_delta's usage is cumulative: a value present there replaces
        # the one from message_start (never add them up).
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    def _done(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for index, block in self._blocks.items():
            self._close(index, block, out)
        finish: FinishReason = (
            _FINISH.get(self._stop_reason, "unknown") if self._stop_reason else "unknown"
        )
        content = self._content()
        data: dict[str, Any] = {"content": content}
        if self._message_id:
            data["message_id"] = self._message_id
        if self._stop_reason:
            data["stop_reason"] = self._stop_reason
        if self._stop_details:
            data["stop_details"] = self._stop_details
        out.append(
            Done(
                finish,
                self._normalized_usage(),
                data,
                detail=_DETAIL.get(self._stop_reason or ""),
                explanation=_explanation(self._stop_details),
                server_tools=server_tool_lines(content),
            )
        )
        return out

    def _content(self) -> list[dict[str, Any]]:
        """The native blocks to send back, in stream order.

        Empty text blocks are left out: the API rejects them in requests.
        Blocks of the kinds this client knows keep only their request fields
        (a tool_use loses the response-only ``caller``); other kinds (server
        tool results and the like) go back as they came.
        """
        blocks = []
        for index in sorted(self._blocks):
            native = self._blocks[index].native()
            kind = native.get("type")
            if kind == "text" and not native.get("text"):
                continue
            fields = _REQUEST_FIELDS.get(kind) if isinstance(kind, str) else None
            if fields is not None:
                native = {k: native[k] for k in fields if k in native}
            blocks.append(native)
        return blocks

    def _normalized_usage(self) -> Usage:
        raw = self._usage
        cached = token_count(raw.get("cache_read_input_tokens"))
        # Anthropic's input_tokens excludes cache reads and writes; the
        # normalized input_tokens is all the input, with cached_tokens a part
        # of it, as the OpenAI APIs report it.
        input_tokens = (
            token_count(raw.get("input_tokens"))
            + cached
            + token_count(raw.get("cache_creation_input_tokens"))
        )
        output = token_count(raw.get("output_tokens"))
        details = raw.get("output_tokens_details")
        thinking = token_count(details.get("thinking_tokens")) if isinstance(details, dict) else 0
        return Usage(
            input_tokens=input_tokens,
            output_tokens=output,
            thinking_tokens=thinking,
            cached_tokens=cached,
            total_tokens=input_tokens + output,
        )


_REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("type", "text", "citations"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
    "tool_use": ("type", "id", "name", "input"),
    "server_tool_use": ("type", "id", "name", "input"),
    "mcp_tool_use": ("type", "id", "name", "server_name", "input"),
}

_SUMMARY_LIMIT = 80
_INPUT_KEYS = ("query", "url", "command", "code", "path")


def _explanation(details: object) -> str | None:
    """The words of a refusal's ``stop_details`` (category and explanation), if any."""
    if not isinstance(details, dict):
        return None
    explanation = details.get("explanation")
    category = details.get("category")
    parts = [str(p) for p in (category, explanation) if isinstance(p, str) and p]
    return ": ".join(parts) if parts else None


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 1] + "…"


def server_tool_lines(content: list[dict[str, Any]]) -> tuple[str, ...]:
    """One line per server-side tool call, result and cited answer, for a compact display.

    ``web_search: "tech news today"``, ``web_search: 5 results``,
    ``mcp docs/search: {...}``, ``citations: 3``. Client tool calls
    (``tool_use``) are shown by the engine and are not listed.
    """
    lines: list[str] = []
    citations = 0
    for block in content:
        kind = block.get("type")
        if not isinstance(kind, str):
            continue
        if kind in ("server_tool_use", "mcp_tool_use"):
            name = str(block.get("name") or "tool")
            if kind == "mcp_tool_use":
                name = f"mcp {block.get('server_name') or '?'}/{name}"
            raw = block.get("input")
            shown = raw
            if isinstance(raw, dict):
                shown = next((raw[k] for k in _INPUT_KEYS if isinstance(raw.get(k), str)), raw)
            lines.append(f"{name}: {_short(shown)}")
        elif kind.endswith("_tool_result"):
            lines.append(f"{kind.removesuffix('_tool_result')}: {_result_summary(block)}")
        elif kind == "text" and isinstance(block.get("citations"), list):
            citations += len(block["citations"])
    if citations:
        lines.append(f"citations: {citations}")
    return tuple(lines)


def _result_summary(block: dict[str, Any]) -> str:
    result = block.get("content")
    if isinstance(result, list):
        count = sum(1 for item in result if isinstance(item, dict))
        return f"{count} result{'s' if count != 1 else ''}"
    if isinstance(result, dict):
        code = result.get("error_code")
        if isinstance(code, str):
            return f"error {code}"
    if block.get("is_error") is True:
        return "error"
    return "done"


def _index(payload: dict[str, Any]) -> int:
    index = payload.get("index")
    return index if type(index) is int else 0
