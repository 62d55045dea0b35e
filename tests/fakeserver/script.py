"""Provider-agnostic scripts for the fake server: what a reply says, and how it misbehaves.

A test describes *what* the model answers (text, thinking, tool calls, finish
reason, usage) and *how the transport behaves* (faults, delays, split writes)
once; each wire renderer turns the same ``Reply`` into its vendor's bytes. This
keeps provider tests symmetric: the same script must normalise to the same
events whichever provider reads it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FinishName = Literal["stop", "length", "tool_use", "content_filter"]
FaultKind = Literal["reset", "cut", "malformed", "stall", "drip", "error_event"]

FINISH_NAMES: tuple[FinishName, ...] = ("stop", "length", "tool_use", "content_filter")
FAULT_KINDS: tuple[FaultKind, ...] = ("reset", "cut", "malformed", "stall", "drip", "error_event")
USAGE_KEYS: tuple[str, ...] = ("input_tokens", "output_tokens", "thinking_tokens", "cached_tokens")


def pieces(text: str, size: int) -> list[str]:
    """Split ``text`` into consecutive pieces of ``size`` characters (none for "")."""
    if size <= 0:
        raise ValueError(f"chunk size must be positive, got {size}")
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Text:
    """Answer text, streamed in deltas of ``chunk`` characters."""

    text: str
    chunk: int = 4


@dataclass
class Thinking:
    """Reasoning text, streamed in deltas of ``chunk`` characters.

    ``signature`` is the opaque value the vendor wants echoed on the next turn:
    the Anthropic ``signature_delta``, the Gemini ``thoughtSignature`` (on the
    first non-thought part after the thoughts) and, prefixed with ``enc-``, the
    OpenAI Responses ``encrypted_content`` of the reasoning item. ``None`` sends
    none. Chat Completions has no signature; it streams ``delta.reasoning_content``.
    """

    text: str
    chunk: int = 4
    signature: str | None = "c2lnbmF0dXJl"


@dataclass
class ToolCall:
    """A tool call; ``arguments`` is a dict (serialised) or a raw JSON string (sent as is).

    The serialised arguments stream in ``chunk``-character fragments where the
    format streams them; Gemini sends the whole ``functionCall`` in one part (a
    string is parsed there, and sent as a bare string if it is not JSON). ``id``
    defaults to a generated vendor-style id; Gemini never sends one.
    """

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None
    chunk: int = 8

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text the streaming formats send."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)

    def arguments_object(self) -> Any:
        """The arguments as a JSON value (Gemini's ``args``)."""
        if not isinstance(self.arguments, str):
            return self.arguments
        try:
            return json.loads(self.arguments)
        except ValueError:
            return self.arguments


Step = Text | Thinking | ToolCall


@dataclass
class Fault:
    """A transport or protocol failure injected into a 200 stream.

    ``after_events`` SSE events are sent normally first, then:

    * ``reset``: the TCP connection is aborted with an RST (``SO_LINGER`` 0);
    * ``cut``: the connection closes cleanly; the terminator event is never sent
      (``after_events`` is capped at the number of events before it);
    * ``malformed``: one event whose data is broken JSON, then the rest normally;
    * ``stall``: ``seconds`` of silence, then the rest normally;
    * ``drip``: the rest one byte at a time, ``seconds`` apart (a server that
      keeps the connection busy without ever finishing an event in time);
    * ``error_event``: the vendor's mid-stream error event, then the connection
      closes. ``error`` replaces the vendor's inner error object.
    """

    kind: FaultKind
    after_events: int = 0
    seconds: float = 0.0
    error: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.after_events < 0:
            raise ValueError("after_events must be >= 0")


@dataclass
class Reply:
    """One scripted HTTP response, rendered in whichever wire format was requested.

    ``finish`` defaults to ``tool_use`` when a step is a ``ToolCall``, else
    ``stop``. ``usage`` keys are ``input_tokens``, ``output_tokens``,
    ``thinking_tokens`` and ``cached_tokens`` (missing keys are 0); each value is
    written verbatim into the vendor's matching field (output_tokens into
    ``completion_tokens`` / ``output_tokens`` / ``candidatesTokenCount``,
    thinking_tokens into ``reasoning_tokens`` / ``output_tokens_details.
    thinking_tokens`` / ``thoughtsTokenCount``). ``None`` derives plausible counts
    from the text lengths.

    A ``status`` other than 200, or any ``body``, makes a plain JSON response with
    a Content-Length (default body: the vendor's error shape for the status).
    ``retry_after`` / ``retry_after_ms`` (set by ``http_error``) become the
    ``retry-after`` / ``retry-after-ms`` headers, except for Gemini, which
    carries the delay as a ``google.rpc.RetryInfo`` detail in the body instead.
    ``delay`` holds back the response headers; ``event_delay`` sleeps before
    every event; ``split`` writes the body in pieces of that many bytes.
    ``pace`` (events per second) sends the events on a fixed schedule, event
    *k* due ``k / pace`` seconds after the first, every event that is due in one
    write: the rate holds over a long stream even when the server's sleeps
    overshoot, and a fast pace arrives in network-sized batches as real ones do.
    """

    steps: list[Step] = field(default_factory=list)
    finish: FinishName | None = None
    usage: dict[str, int] | None = None
    model: str = "fake-model"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict[str, Any] | None = None
    fault: Fault | None = None
    event_delay: float = 0.0
    pace: float = 0.0
    split: int | None = None
    delay: float = 0.0
    retry_after: str | None = None
    retry_after_ms: str | None = None

    def __post_init__(self) -> None:
        if self.finish is not None and self.finish not in FINISH_NAMES:
            raise ValueError(f"unknown finish {self.finish!r}; expected one of {FINISH_NAMES}")
        if self.split is not None and self.split <= 0:
            raise ValueError("split must be a positive number of bytes")
        if self.pace < 0:
            raise ValueError("pace must be a positive number of events per second (or 0)")
        if self.usage is not None:
            unknown = set(self.usage) - set(USAGE_KEYS)
            if unknown:
                raise ValueError(f"unknown usage keys {sorted(unknown)}; expected {USAGE_KEYS}")
        for step in self.steps:
            if not isinstance(step, Text | Thinking | ToolCall):
                raise TypeError(f"a step must be Text, Thinking or ToolCall, not {step!r}")

    @property
    def is_stream(self) -> bool:
        """Whether this reply is an SSE stream (else a JSON body with Content-Length)."""
        return self.status == 200 and self.body is None

    def finish_reason(self) -> FinishName:
        """The effective finish reason."""
        if self.finish is not None:
            return self.finish
        if any(isinstance(step, ToolCall) for step in self.steps):
            return "tool_use"
        return "stop"

    def token_usage(self) -> dict[str, int]:
        """All four usage counts: the scripted ones (missing as 0) or plausible defaults."""
        if self.usage is not None:
            return {key: int(self.usage.get(key, 0)) for key in USAGE_KEYS}
        out_chars = sum(
            len(s.text) if isinstance(s, Text) else len(s.arguments_json)
            for s in self.steps
            if not isinstance(s, Thinking)
        )
        think_chars = sum(len(s.text) for s in self.steps if isinstance(s, Thinking))
        return {
            "input_tokens": 25,
            "output_tokens": max(1, math.ceil(out_chars / 4)),
            "thinking_tokens": math.ceil(think_chars / 4),
            "cached_tokens": 0,
        }


@dataclass
class Raw:
    """Recorded bytes served verbatim, for golden tests over a real socket.

    ``chunk_sizes`` lists the sizes of the first writes (what remains goes in one
    last write). A 200 is delimited by closing the connection; any other status
    gets a Content-Length.
    """

    data: bytes
    status: int = 200
    content_type: str = "text/event-stream"
    chunk_sizes: list[int] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.chunk_sizes is not None and any(size <= 0 for size in self.chunk_sizes):
            raise ValueError("chunk sizes must be positive")


def http_error(
    status: int,
    *,
    retry_after: str | None = None,
    retry_after_ms: str | None = None,
    body: bytes | str | dict[str, Any] | None = None,
) -> Reply:
    """A non-200 reply in the requested vendor's error shape (or ``body`` verbatim)."""
    if status == 200:
        raise ValueError("http_error needs a non-200 status")
    return Reply(status=status, retry_after=retry_after, retry_after_ms=retry_after_ms, body=body)


# -- JSON scripts (for `python -m tests.fakeserver --script FILE.json`) -------------------------

_REPLY_KEYS = frozenset(
    {
        "steps",
        "finish",
        "usage",
        "model",
        "status",
        "headers",
        "body",
        "fault",
        "event_delay",
        "pace",
        "split",
        "delay",
        "retry_after",
        "retry_after_ms",
    }
)


def _step_from_dict(raw: dict[str, Any]) -> Step:
    extra = {k: v for k, v in raw.items() if k not in ("text", "thinking", "tool_call")}
    if "text" in raw:
        return Text(raw["text"], **extra)
    if "thinking" in raw:
        return Thinking(raw["thinking"], **extra)
    if "tool_call" in raw:
        call = dict(raw["tool_call"])
        return ToolCall(call.pop("name"), call.pop("arguments", {}), **call)
    raise ValueError(f"a step needs a 'text', 'thinking' or 'tool_call' key: {raw!r}")


def reply_from_dict(raw: dict[str, Any], base_dir: Path | None = None) -> Reply | Raw:
    """Build a ``Reply`` (or a ``Raw`` from ``{"raw": str}`` / ``{"raw_file": path}``).

    Unknown keys raise ``ValueError`` so that a typo in a script fails loudly.
    """
    if "raw" in raw or "raw_file" in raw:
        options = {k: v for k, v in raw.items() if k not in ("raw", "raw_file")}
        if "raw" in raw:
            data = str(raw["raw"]).encode()
        else:
            path = Path(raw["raw_file"])
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            data = path.read_bytes()
        return Raw(data, **options)
    unknown = set(raw) - _REPLY_KEYS
    if unknown:
        raise ValueError(f"unknown reply keys {sorted(unknown)}")
    fields = dict(raw)
    fields["steps"] = [_step_from_dict(step) for step in raw.get("steps", [])]
    if raw.get("fault") is not None:
        fields["fault"] = Fault(**raw["fault"])
    return Reply(**fields)


def load_script(path: Path) -> list[Reply | Raw]:
    """Read a JSON file holding a list of reply dicts (see ``reply_from_dict``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError(f"{path}: a script is a JSON list of replies")
    return [reply_from_dict(item, path.parent) for item in data]
