"""Google Gemini (``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse``).

Gemini differs from the other wire APIs in ways that shape this module:

* every SSE event is a whole ``GenerateContentResponse`` carrying only the *new*
  parts; there is no event name, no terminator and no call id, so the stream
  ends at EOF and tool-call ids are made up here (response id + ordinal);
* a function call arrives whole in one part, so it becomes start + one delta +
  done at once;
* ``thoughtSignature`` may sit on any part and must go back on the same part,
  so the model turn's parts are kept in ``Done.provider_data`` and replayed;
* ``usageMetadata`` repeats on every chunk and may go *down*: the last wins;
* thinking is asked for with ``thinkingBudget`` (2.5 family) or
  ``thinkingLevel`` (3 family), never both (the API rejects that).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from ikigai.providers import errors
from ikigai.providers.base import HttpProvider
from ikigai.providers.events import (
    Done,
    Error,
    FinishReason,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from ikigai.providers.models import ModelSpec, lookup
from ikigai.providers.normalizer import JsonNormalizer, Normalizer, token_count
from ikigai.providers.request import (
    ImageBlock,
    Message,
    Request,
    TextBlock,
    ThinkingLevel,
    ToolCallBlock,
    ToolResultBlock,
)
from ikigai.providers.sse import SSEEvent

PROVIDER_ID = "google"

# ``thinking`` values: "budget" (thinkingBudget), "level" (every thinkingLevel),
# "level-pro" (LOW/HIGH only, Gemini 3 Pro), "level-no-minimal" (Gemini 3.1 Pro
# rejects MINIMAL: tests/fixtures/gemini/http_errors/400_invalid_argument_live.json),
# "none" (no thinkingConfig accepted).
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gemini-3", "level", 65_536, listed=False),
    ModelSpec("gemini-3-pro", "level-pro", 65_536, listed=False),
    ModelSpec("gemini-3.1-pro", "level-no-minimal", 65_536),
    # A live 400 says "Thinking level MINIMAL is not supported for this model"
    # (vercel/ai packages/google/src/__fixtures__/google-gemini-3.7-flash-thinking-levels.json).
    ModelSpec("gemini-3.7-flash", "level-no-minimal", 65_536),
    ModelSpec("gemini-2.5-pro", "budget", 65_536, 128, 32_768),
    ModelSpec("gemini-2.5-flash", "budget", 65_536, 1, 24_576),
    ModelSpec("gemini-2.5-flash-lite", "budget", 65_536, 512, 24_576),
    ModelSpec("gemini-2.0-flash", "none", 8_192),
    ModelSpec("gemini-1.5", "none", 8_192, listed=False),
)
DEFAULT_MODEL = ModelSpec("", "level", 65_536)
"""Unknown models are assumed to be newer than the table, hence level-style thinking."""

_LEVELS: dict[str, dict[ThinkingLevel, str]] = {
    "level": {"min": "MINIMAL", "low": "LOW", "med": "MEDIUM", "high": "HIGH"},
    "level-pro": {"min": "LOW", "low": "LOW", "med": "HIGH", "high": "HIGH"},
    "level-no-minimal": {"min": "LOW", "low": "LOW", "med": "MEDIUM", "high": "HIGH"},
}
_BUDGETS: dict[ThinkingLevel, int] = {"min": 512, "low": 2_048, "med": 8_192, "high": 32_768}
# When the API says a level is not supported, the next level up that models take.
_LEVEL_FALLBACK = {"MINIMAL": "LOW", "MEDIUM": "HIGH"}
_UNSUPPORTED_LEVEL = re.compile(r"[Tt]hinking level (\w+) is not supported")

# A documented stand-in for a thought signature, for function calls this
# provider did not produce (history from another provider): Gemini 3 rejects an
# unsigned function call in the current turn, and accepts this value instead.
SKIP_SIGNATURE = "skip_thought_signature_validator"

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "LANGUAGE": "unknown",
    "OTHER": "unknown",
}
# Finish reasons that mean the model produced an unusable answer.
_FINISH_ERRORS: dict[str, str] = {
    "MALFORMED_FUNCTION_CALL": "the model produced a malformed function call",
    "UNEXPECTED_TOOL_CALL": "the model called a tool that was not offered",
    "TOO_MANY_TOOL_CALLS": "the model made too many tool calls in one turn",
}


def model_spec(model: str) -> ModelSpec:
    """The table row for ``model`` (defaults for unknown models)."""
    return lookup(MODELS, _bare_model(model), DEFAULT_MODEL, PROVIDER_ID).spec


def _bare_model(model: str) -> str:
    return model.removeprefix("models/")


def thinking_config(spec: ModelSpec, level: ThinkingLevel | None) -> dict[str, Any] | None:
    """The ``generationConfig.thinkingConfig`` for ``level`` on a model, or None.

    No level means the model's own default (no config sent). Models that take
    no thinking config get none even when a level is asked for, since the API
    rejects it.
    """
    if level is None or spec.thinking == "none":
        return None
    if spec.thinking == "budget":
        low = max(spec.min_thinking_budget, 1)
        high = spec.max_thinking_budget or _BUDGETS["high"]
        budget = high if level == "high" else min(max(_BUDGETS[level], low), high)
        return {"thinkingBudget": budget, "includeThoughts": True}
    levels = _LEVELS.get(spec.thinking, _LEVELS["level"])
    return {"thinkingLevel": levels[level], "includeThoughts": True}


class GoogleProvider(HttpProvider):
    """Gemini Developer API streaming with ``alt=sse`` and an ``x-goog-api-key`` key."""

    id: ClassVar[str] = PROVIDER_ID
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (model, level the API refused) -> level to send instead; learned from 400s.
        self._level_override: dict[tuple[str, str], str] = {}

    def url(self, request: Request) -> str:
        base = self.options.base_url.rstrip("/")
        if not base.endswith(("/v1beta", "/v1", "/v1alpha")):
            base += "/v1beta"
        model = quote(_bare_model(request.model), safe="-._~")
        return f"{base}/models/{model}:streamGenerateContent?alt=sse"

    def auth_headers(self) -> dict[str, str]:
        key = self.options.api_key
        return {"x-goog-api-key": key} if key else {}

    def body(self, request: Request) -> dict[str, Any]:
        spec = model_spec(request.model)
        body: dict[str, Any] = {"contents": serialize_contents(request.messages, spec)}
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        if request.tools:
            body["tools"] = [
                {
                    "functionDeclarations": [
                        {
                            "name": tool.name,
                            "description": tool.description,
                            "parametersJsonSchema": tool.parameters
                            or {"type": "object", "properties": {}},
                        }
                        for tool in request.tools
                    ]
                }
            ]
            if not request.allow_tool_calls:
                body["toolConfig"] = {"functionCallingConfig": {"mode": "NONE"}}
        config: dict[str, Any] = {}
        if request.max_output_tokens:
            config["maxOutputTokens"] = request.max_output_tokens
        for name, value in (
            ("temperature", request.temperature),
            ("topP", request.top_p),
            ("topK", request.top_k),
        ):
            if value is not None and spec.sampling:
                config[name] = value
        thinking = thinking_config(spec, request.thinking)
        if thinking is not None:
            level = thinking.get("thinkingLevel")
            if isinstance(level, str):
                key = (_bare_model(request.model), level)
                thinking["thinkingLevel"] = self._level_override.get(key, level)
            config["thinkingConfig"] = thinking
        if config:
            body["generationConfig"] = config
        return body

    def normalizer(self, request: Request) -> Normalizer:
        return GeminiNormalizer(request.model)

    def model_warning(self, model: str) -> str | None:
        return lookup(MODELS, _bare_model(model), DEFAULT_MODEL, PROVIDER_ID).warning

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> Error:
        """Classify an error body; an invalid API key arrives as a 400 and means ``auth``."""
        error = errors.error_from_http(status, headers, body)
        if status == 400 and _is_api_key_error(body):
            return Error("auth", error.message, status, error.retry_after_ms)
        return error

    def adjust_after_error(self, request: Request, error: Error) -> bool:
        """Resend once with the next level up when the model refuses a thinking level."""
        if error.http_status != 400 or request.thinking is None:
            return False
        match = _UNSUPPORTED_LEVEL.search(error.message)
        if match is None:
            return False
        refused = match.group(1).upper()
        replacement = _LEVEL_FALLBACK.get(refused)
        key = (_bare_model(request.model), refused)
        if replacement is None or key in self._level_override:
            return False
        self._level_override[key] = replacement
        return True


def _is_api_key_error(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return False
    err = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(err, dict):
        return False
    for detail in err.get("details") or ():
        if isinstance(detail, dict) and detail.get("reason") == "API_KEY_INVALID":
            return True
    message = err.get("message")
    return isinstance(message, str) and "API key not valid" in message


# -- request serialization ------------------------------------------------------------------


def serialize_contents(messages: list[Message], spec: ModelSpec) -> list[dict[str, Any]]:
    """The ``contents`` array: one ``user``/``model`` entry per turn, same roles merged.

    Gemini wants alternating roles, and tool results are ``user`` content, so a
    tool-result message followed by a user message becomes one ``user`` entry.
    """
    contents: list[dict[str, Any]] = []
    for message in messages:
        role = "model" if message.role == "assistant" else "user"
        parts = _model_parts(message, spec) if role == "model" else _user_parts(message)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _user_parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            if block.text:
                parts.append({"text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append({"inlineData": {"mimeType": block.media_type, "data": block.data}})
        elif isinstance(block, ToolResultBlock):
            parts.append(function_response(block))
    return parts


def function_response(result: ToolResultBlock) -> dict[str, Any]:
    """A ``functionResponse`` part: the response must be an object, so the text is
    wrapped under ``output`` (or ``error``), the keys the API documents for this."""
    key = "error" if result.is_error else "output"
    response: dict[str, Any] = {
        "name": result.name,
        "response": {key: result.output},
    }
    if result.tool_call_id:
        response["id"] = result.tool_call_id
    return {"functionResponse": response}


def _model_parts(message: Message, spec: ModelSpec) -> list[dict[str, Any]]:
    native = _replayable_parts(message)
    if native is not None:
        return native
    # History from another provider (or without its native parts): rebuild from
    # the generic blocks. Thinking is dropped: no Gemini signature can vouch for it.
    parts: list[dict[str, Any]] = []
    signed = False
    for block in message.content:
        if isinstance(block, TextBlock):
            if block.text:
                parts.append({"text": block.text})
        elif isinstance(block, ToolCallBlock):
            part: dict[str, Any] = {
                "functionCall": {"name": block.name, "args": _args(block), "id": block.id}
            }
            if spec.thinking.startswith("level") and not signed:
                part["thoughtSignature"] = SKIP_SIGNATURE
                signed = True
            parts.append(part)
    return parts


def _replayable_parts(message: Message) -> list[dict[str, Any]] | None:
    """This provider's own parts for ``message``, if they still match its tool calls.

    The parts are replayed as received so every signature stays on its part;
    they are used only when they carry the same tool calls as the message, so a
    message edited after the fact is rebuilt from its blocks instead.
    """
    if message.provider != PROVIDER_ID:
        return None
    parts = message.provider_data.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        return None
    native_ids = [
        p["functionCall"].get("id") for p in parts if isinstance(p.get("functionCall"), dict)
    ]
    if native_ids != [call.id for call in message.tool_calls()]:
        return None
    return [dict(part) for part in parts]


def _args(call: ToolCallBlock) -> dict[str, Any]:
    try:
        parsed = call.parsed_arguments()
    except ValueError:
        return {"arguments": call.arguments}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


# -- stream normalization -------------------------------------------------------------------


def _usage(raw: Mapping[str, Any]) -> Usage:
    """Normalized usage from ``usageMetadata``.

    ``candidatesTokenCount`` excludes thoughts; ``output_tokens`` includes them,
    as the other providers' output counts do (thinking is billed as output),
    and ``thinking_tokens`` reports them separately.
    """
    prompt = token_count(raw.get("promptTokenCount")) + token_count(
        raw.get("toolUsePromptTokenCount")
    )
    thoughts = token_count(raw.get("thoughtsTokenCount"))
    output = token_count(raw.get("candidatesTokenCount")) + thoughts
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        thinking_tokens=thoughts,
        cached_tokens=token_count(raw.get("cachedContentTokenCount")),
        total_tokens=token_count(raw.get("totalTokenCount")) or prompt + output,
    )


class _Part:
    """One part of the model turn as it will be replayed.

    A text part's pieces are kept in a list and joined once at the end
    (appending to the string in the part's dict copied it on every delta).
    """

    __slots__ = ("native", "texts")

    def __init__(self, native: dict[str, Any], text: str | None) -> None:
        self.native = native
        self.texts: list[str] | None = None if text is None else [text]

    @property
    def thought(self) -> bool:
        return self.native.get("thought") is True

    def merges(self, thought: bool) -> bool:
        """Whether an unsigned text part of kind ``thought`` may be appended to this one."""
        return (
            self.texts is not None
            and "thoughtSignature" not in self.native
            and self.thought == thought
        )

    def build(self) -> dict[str, Any]:
        if self.texts is None:
            return self.native
        return {**self.native, "text": "".join(self.texts)}


class GeminiNormalizer(JsonNormalizer):
    """``GenerateContentResponse`` chunks to normalized events.

    Parts are accumulated for replay: consecutive text parts of the same kind
    are merged, except that a part carrying a ``thoughtSignature`` always starts
    a part of its own and nothing is merged into it, so each signature stays
    bound to exactly the content it came with. The ``index`` of text and
    thinking deltas is the position of that accumulated part. A function call
    arrives whole, so it starts, streams its arguments and ends at once.
    """

    __slots__ = (
        "_blocked",
        "_finish",
        "_parts",
        "_response_id",
        "_usage",
    )

    not_an_event_stream_hint: ClassVar[str] = "a JSON-array body means the server ignored alt=sse"

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._response_id: str | None = None
        self._finish: str | None = None
        self._blocked: str | None = None
        self._usage = Usage()
        self._parts: list[_Part] = []

    def start_model(self, payload: dict[str, Any]) -> object:
        response_id = payload.get("responseId")
        self._response_id = response_id if isinstance(response_id, str) else None
        model = payload.get("modelVersion")
        return str(model) if model else None

    def on_payload(self, event: SSEEvent, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        if payload.get("error"):
            out.append(errors.error_from_payload(payload, "server"))
            return
        usage = payload.get("usageMetadata")
        if isinstance(usage, dict) and usage:
            self._usage = _usage(usage)
        feedback = payload.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self._blocked = str(feedback["blockReason"])
        candidates = payload.get("candidates")
        if isinstance(candidates, list):
            for candidate in candidates:
                if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
                    error = self._candidate(candidate, out)
                    if error is not None:
                        out.append(error)
                        return

    def _candidate(self, candidate: dict[str, Any], out: list[StreamEvent]) -> Error | None:
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            for part in parts:
                if isinstance(part, dict):
                    self._part(part, out)
        finish = candidate.get("finishReason")
        if isinstance(finish, str) and finish:
            self._finish = finish
            if finish in _FINISH_ERRORS:
                detail = candidate.get("finishMessage")
                message = f"{_FINISH_ERRORS[finish]} (finishReason {finish})"
                if isinstance(detail, str) and detail:
                    message += f": {detail}"
                return Error("invalid_arg", message)
        return None

    def _part(self, part: dict[str, Any], out: list[StreamEvent]) -> None:
        signature = part.get("thoughtSignature")
        call = part.get("functionCall")
        if isinstance(call, dict):
            self._function_call(part, call, out)
            return
        text = part.get("text")
        if not isinstance(text, str):
            # inlineData, executableCode, ...: nothing to show, but replayed as is.
            self._parts.append(_Part(dict(part), None))
            return
        thought = part.get("thought") is True
        if not text and not signature:
            return
        last = self._parts[-1] if self._parts else None
        if last is not None and not signature and last.merges(thought):
            assert last.texts is not None
            last.texts.append(text)
        else:
            self._parts.append(_Part(dict(part), text))
        if text:
            index = len(self._parts) - 1
            out.append(ThinkingDelta(index, text) if thought else TextDelta(index, text))

    def _function_call(
        self, part: dict[str, Any], call: dict[str, Any], out: list[StreamEvent]
    ) -> None:
        ordinal = self.tools.count
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = f"{self._id_prefix()}_{ordinal}"
        args = call.get("args")
        if not isinstance(args, dict):
            args = {}
        name = str(call.get("name") or "")
        stored = dict(part)
        stored["functionCall"] = {**call, "name": name, "args": args, "id": call_id}
        self._parts.append(_Part(stored, None))
        key = ("call", ordinal)
        self.tools.start(key, call_id, name, out)
        self.tools.delta(key, json.dumps(args, ensure_ascii=False), out)
        self.tools.end(key, out)

    def _id_prefix(self) -> str:
        if self._response_id is None:
            # No response id to derive from: a random one keeps ids unique in the conversation.
            self._response_id = uuid.uuid4().hex
        return f"call_{self._response_id}"

    def _done(self) -> Done:
        finish: FinishReason
        if self._blocked is not None and not self._finish:
            finish = "content_filter"
        elif self._finish is None:
            finish = "unknown"
        else:
            finish = _FINISH.get(self._finish, "unknown")
            if self._finish.startswith("IMAGE_") and finish == "unknown":
                finish = "content_filter"
        if finish == "stop" and self.tools.count:
            finish = "tool_use"
        data: dict[str, Any] = {
            # Unsigned thought summaries are not needed on the next turn; signed
            # parts (of any kind) must go back exactly as they came.
            "parts": [
                part.build()
                for part in self._parts
                if not part.thought or "thoughtSignature" in part.native
            ]
        }
        if self._response_id:
            data["response_id"] = self._response_id
        if self._finish:
            data["finish_reason"] = self._finish
        if self._blocked:
            data["block_reason"] = self._blocked
        return Done(finish, self._usage, data)

    def done_at_eof(self) -> list[StreamEvent] | None:
        # Gemini has no terminator event: the body simply ends. Once a
        # finishReason (or a prompt block) arrived, everything the model sent is
        # here, so EOF is a normal end. Before that, the answer was cut off.
        if self._finish is not None or self._blocked is not None:
            return [self._done()]
        return None
