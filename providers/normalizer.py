"""What every wire normalizer shares: the JSON prelude, ``start``, tool-call ordinals, the end.

``Normalizer`` is the interface ``HttpProvider`` drives: ``feed`` one SSE
event, ``finish`` at end of body. ``JsonNormalizer`` implements it for the four
wire APIs, whose events are all JSON objects, and leaves each module only its
vendor's shapes (``on_payload``, ``done_at_eof``):

* the JSON prelude: data that does not parse, or is not an object, ends the
  stream with a ``server`` error; a payload of an unexpected shape that makes
  the handler fail (a string where an object belongs) does the same, so no
  server bytes can raise out of ``feed``;
* ``start`` exactly once, before anything else, naming the model the server
  reported (else the requested one);
* nothing after the first ``done`` or ``error``;
* tool calls (``ToolCalls``): ordinals 0, 1, ... in the order calls start,
  whatever key the wire uses; a delta or end for a call that never started
  (or already ended) is dropped; a call that ends without any arguments gets
  ``{}``, so the arguments of a finished call always parse;
* the end of the body: complete when the module says the stop reason arrived
  (``done_at_eof``), a ``network`` error when it did not, and a ``server``
  error when bytes arrived but not a single event (not an event stream);
* token counts (``token_count``): integers from whatever the server put there.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from ikigai.providers.events import (
    Done,
    Error,
    Start,
    StreamEvent,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)
from ikigai.providers.sse import SSEEvent

NOT_AN_EVENT_STREAM = "the server did not send an event stream"
_SHAPE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError)
_scan_json: Callable[[str, int], tuple[Any, int]]
_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # untyped in typeshed


def parse_json(data: str) -> Any:
    """``json.loads(data)``, without its Python layers for the usual event payload.

    An event's data is one JSON value with nothing around it: the scanner
    that ``json.loads`` ends in (the C one) reads it directly (a quarter of the parsing
    time of a stream of small deltas). Anything else (surrounding whitespace,
    extra data, a BOM, malformed JSON) goes to ``json.loads`` itself, so the
    result and every error are exactly its own.
    """
    try:
        value, end = _scan_json(data, 0)
    except (StopIteration, ValueError):
        return json.loads(data)
    if end != len(data):
        return json.loads(data)
    return value


class Normalizer(ABC):
    """Turns one response's SSE events into normalized events.

    One instance per response attempt. ``feed`` returns the events an SSE event
    produced; ``finish`` is called at end of body and must return the terminal
    event if ``feed`` has not produced one. ``unterminated`` says the body ended
    inside an event (no final blank line), which the decoder does not dispatch.
    """

    not_an_event_stream_hint: ClassVar[str] = ""
    """Appended to the error for a body that is not an event stream at all."""

    @abstractmethod
    def feed(self, event: SSEEvent) -> list[StreamEvent]: ...

    @abstractmethod
    def finish(self, unterminated: bool) -> list[StreamEvent]: ...

    def retryable(self, error: Error) -> bool | None:
        """Whether an ``error`` this normalizer produced before any content may be retried.

        None lets the error's category decide (network, server and rate-limit
        errors are retried).
        """
        return None


def token_count(value: object) -> int:
    """A token count from a usage field: a non-negative int, 0 for anything else.

    Servers send ints, sometimes floats or numeric strings, sometimes null;
    none of that may raise.
    """
    if type(value) is int:
        return value if value > 0 else 0
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def excerpt(data: str, limit: int = 120) -> str:
    """The start of ``data`` quoted for an error message."""
    return repr(data[:limit]) + ("..." if len(data) > limit else "")


class _Call:
    __slots__ = ("has_arguments", "ordinal")

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal
        self.has_arguments = False


class ToolCalls:
    """The tool calls of one response, numbered 0, 1, ... as they start.

    Keyed by whatever identifies a call on the wire (Chat's ``index``, the
    Responses ``output_index``, Anthropic's block index). The rule for deltas
    that do not fit is one for every provider: a delta or an end for a key
    with no open call is dropped, and nothing is synthesized for it (a call
    without its start has no name, so it could never be run).
    """

    __slots__ = ("_open", "_seen", "count")

    def __init__(self) -> None:
        self._open: dict[object, _Call] = {}
        self._seen: set[object] = set()
        self.count = 0

    def started(self, key: object) -> bool:
        """Whether a call with ``key`` started in this response (open or ended)."""
        return key in self._seen

    def is_open(self, key: object) -> bool:
        return key in self._open

    def start(self, key: object, call_id: object, name: object, out: list[StreamEvent]) -> bool:
        """Start a call for ``key``; False (and nothing emitted) if one already started."""
        if key in self._seen:
            return False
        call = _Call(self.count)
        self.count += 1
        self._seen.add(key)
        self._open[key] = call
        identifier = call_id if isinstance(call_id, str) and call_id else f"call_{call.ordinal}"
        out.append(ToolCallStart(call.ordinal, identifier, name if isinstance(name, str) else ""))
        return True

    def delta(self, key: object, arguments: object, out: list[StreamEvent]) -> None:
        """A fragment of the arguments of the open call ``key`` (dropped if none is open)."""
        call = self._open.get(key)
        if call is None or not isinstance(arguments, str) or not arguments:
            return
        call.has_arguments = True
        out.append(ToolCallDelta(call.ordinal, arguments))

    def has_arguments(self, key: object) -> bool:
        call = self._open.get(key)
        return call is not None and call.has_arguments

    def end(self, key: object, out: list[StreamEvent]) -> None:
        """End the open call ``key``: ``{}`` first if it had no arguments, then its done."""
        call = self._open.pop(key, None)
        if call is not None:
            self._close(call, out)

    def end_all(self, out: list[StreamEvent]) -> None:
        """End every open call, in the order they started."""
        for call in self._open.values():
            self._close(call, out)
        self._open.clear()

    @staticmethod
    def _close(call: _Call, out: list[StreamEvent]) -> None:
        if not call.has_arguments:
            out.append(ToolCallDelta(call.ordinal, "{}"))
        out.append(ToolCallDone(call.ordinal))


class JsonNormalizer(Normalizer):
    """The shared base of the four wire normalizers (see the module docstring).

    A subclass implements ``on_payload`` for one parsed JSON object and
    ``done_at_eof`` for a body that ends without the wire's terminator; it may
    set ``sentinel`` (Chat's ``[DONE]``) with ``on_sentinel``, ``start_model``
    and ``not_an_event_stream_hint``.
    """

    __slots__ = ("_ended", "_seen", "_started", "model", "tools")

    sentinel: ClassVar[str | None] = None
    """A non-JSON data value the wire uses (``[DONE]``), handed to ``on_sentinel``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.tools = ToolCalls()
        self._started = False
        self._ended = False
        self._seen = False

    # -- what a wire module defines ---------------------------------------------------------

    @abstractmethod
    def on_payload(self, event: SSEEvent, payload: dict[str, Any], out: list[StreamEvent]) -> None:
        """Append the events of one JSON payload to ``out`` (a terminal one last)."""

    @abstractmethod
    def done_at_eof(self) -> list[StreamEvent] | None:
        """The events that complete the answer when the body ends without its terminator.

        None means the stop reason never arrived: the answer was cut off.
        """

    def start_model(self, payload: dict[str, Any]) -> object:
        """The model the server names in its first payload (anything not a string is ignored)."""
        return None

    def on_sentinel(self, out: list[StreamEvent]) -> None:
        """Handle the ``sentinel`` data value."""

    # -- the shared part --------------------------------------------------------------------

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        if self._ended:
            return []
        self._seen = True
        data = event.data
        out: list[StreamEvent] = []
        if self.sentinel is not None and data == self.sentinel:
            self._start(None, out)
            self.on_sentinel(out)
            return self._admit(out)
        try:
            payload = parse_json(data)
        except (ValueError, RecursionError):
            self._start(None, out)
            out.append(Error("server", f"malformed JSON in the stream: {excerpt(data)}"))
            return self._admit(out)
        if type(payload) is not dict:
            self._start(None, out)
            out.append(Error("server", f"unexpected stream data: {excerpt(data)}"))
            return self._admit(out)
        if not self._started:
            self._start(payload, out)
        try:
            self.on_payload(event, payload, out)
        except _SHAPE_ERRORS as exc:
            # A payload of a shape the handler did not expect; never an exception
            # out of the stream. What it produced before failing is kept.
            out.append(
                Error("server", f"unexpected stream data ({type(exc).__name__}): {excerpt(data)}")
            )
        return self._admit(out)

    def finish(self, unterminated: bool) -> list[StreamEvent]:
        if self._ended:
            return []
        self._ended = True
        if not self._seen and unterminated:
            hint = f"; {self.not_an_event_stream_hint}" if self.not_an_event_stream_hint else ""
            return [Error("server", f"{NOT_AN_EVENT_STREAM} (no 'data:' events){hint}")]
        try:
            done = self.done_at_eof()
        except _SHAPE_ERRORS as exc:
            return [Error("server", f"unexpected stream data ({type(exc).__name__})")]
        if done is not None:
            return self._admit(done)
        tail = " inside an unterminated event" if unterminated else ""
        return [Error("network", f"the stream ended before the model finished{tail}")]

    def _start(self, payload: dict[str, Any] | None, out: list[StreamEvent]) -> None:
        if self._started:
            return
        self._started = True
        try:
            model = self.start_model(payload) if payload is not None else None
        except _SHAPE_ERRORS:
            model = None
        out.append(Start(model if isinstance(model, str) and model else self.model))

    def _admit(self, out: list[StreamEvent]) -> list[StreamEvent]:
        """``out`` up to and including its first terminal event; marks the stream ended."""
        for position, event in enumerate(out):
            kind = type(event)
            if kind is Done or kind is Error:
                self._ended = True
                del out[position + 1 :]
                break
        return out
