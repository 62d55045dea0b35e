"""Incremental Server-Sent Events decoder following the WHATWG parsing rules.

Bytes arrive in arbitrary network chunks. Lines end in CR, LF or CRLF (a CRLF
may be split across chunks); lines starting with ``:`` are comments; several
``data`` lines join with ``\\n``; an event is dispatched only on a blank line.
Lines are split on bytes before decoding, so a UTF-8 character cut between two
chunks is decoded whole, and a JSON string holding U+2028 is never split.
Work is linear in the input, however long one event grows.

At end of stream, an event without its final blank line is *not* dispatched,
as the specification and the official SDKs do. ``pending`` tells a caller that
such a tail existed, so a provider can decide what an unterminated stream means.

One event is capped (``max_event_bytes``: its data values plus any unfinished
line): a server that sends an endless line or an endless event makes ``feed``
raise ``EventTooLarge`` once the event passes the cap, and the decoder never
holds more than the cap plus the chunk being fed. Without the cap one 100 MB
line cost almost 1 GB of memory (the line, its decoded copy, the joined data,
the parsed JSON).

Hand-written rather than a library's: httpx-sse reads httpx's decoded lines,
which split on U+2028 and the other Unicode line breaks (so a JSON string
holding one is cut in two), and neither it nor sseclient caps an event.
"""

from __future__ import annotations

from typing import NamedTuple

_LF = 0x0A
_CR = 0x0D
_BOM = "\ufeff"
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024


class SSEEvent(NamedTuple):
    """One dispatched event: its ``event`` name (``message`` by default) and ``data``.

    A named tuple rather than a frozen dataclass: as immutable, and built in a
    quarter of the time (one per event, thousands per answer).
    """

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class EventTooLarge(Exception):
    """One event grew past the decoder's cap; ``events`` were completed before it."""

    def __init__(self, limit: int, events: list[SSEEvent]) -> None:
        super().__init__(f"an event of the stream is larger than {limit:,} bytes")
        self.limit = limit
        self.events = events


class SSEDecoder:
    """Feed bytes with ``feed``; it returns the events completed by them.

    ``max_event_bytes`` caps one event (its data values and any unfinished
    line); past it ``feed`` raises ``EventTooLarge`` and the decoder accepts
    nothing more. ``peak_buffered`` is the most it ever held for one event.
    """

    __slots__ = (
        "_data",
        "_event",
        "_event_bytes",
        "_has_fields",
        "_last_id",
        "_partial",
        "_partial_bytes",
        "_retry",
        "_skip_lf",
        "_started",
        "failed",
        "max_event_bytes",
        "peak_buffered",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.peak_buffered = 0
        self.failed = False
        self._partial_bytes = 0
        self._event_bytes = 0
        self._partial: list[bytes] = []
        self._skip_lf = False
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._has_fields = False

    @property
    def pending(self) -> bool:
        """True when bytes or fields of an undispatched event are buffered."""
        return self._has_fields or any(self._partial)

    @property
    def buffered(self) -> int:
        """Bytes held for the event being received (its lines so far)."""
        return self._partial_bytes + self._event_bytes

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completed, in order.

        Raises ``EventTooLarge`` (holding the events completed before it) when
        an event passes ``max_event_bytes``.
        """
        if self.failed:
            return []
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if not chunk:
            return []
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last < 0:
            if self._partial_bytes + self._event_bytes + len(chunk) > self.max_event_bytes:
                self._overflow([])
            self._partial.append(chunk)
            self._partial_bytes += len(chunk)
            self._note_peak()
            return []
        if self._partial:
            self._partial.append(chunk[: last + 1])
            complete = b"".join(self._partial)
            self._partial = []
        else:
            complete = chunk[: last + 1]
        self._partial_bytes = 0
        rest = chunk[last + 1 :]
        if rest:
            self._partial.append(rest)
            self._partial_bytes = len(rest)
        elif chunk[last] == _CR:
            # A CR at the very end may be the first half of a CRLF.
            self._skip_lf = True
        events = self._lines(complete.splitlines())
        if self._partial_bytes + self._event_bytes > self.max_event_bytes:
            self._overflow(events)
        self._note_peak()
        return events

    def _note_peak(self) -> None:
        held = self._partial_bytes + self._event_bytes
        if held > self.peak_buffered:
            self.peak_buffered = held

    def _overflow(self, events: list[SSEEvent]) -> None:
        self._note_peak()
        self.failed = True
        self._partial, self._data = [], []
        self._partial_bytes = self._event_bytes = 0
        raise EventTooLarge(self.max_event_bytes, events)

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for raw in lines:
            if not raw:
                if self._has_fields:
                    if self._event_bytes > self.max_event_bytes:
                        self._overflow(events)
                    event = self._dispatch()
                    data = self._data
                    if event is not None:
                        events.append(event)
                self._event_bytes = 0
                continue
            if raw[:6] == b"data: " and self._started:
                # The common case, kept short: one data line with the usual space.
                data.append(raw[6:].decode("utf-8", "replace"))
                self._event_bytes += len(raw) - 6
                self._has_fields = True
                continue
            line = raw.decode("utf-8", "replace")
            if not self._started:
                self._started = True
                if line.startswith(_BOM):
                    line = line[1:]
                    if not line:
                        continue
            if line[0] == ":":
                continue
            name, colon, value = line.partition(":")
            if colon and value[:1] == " ":
                value = value[1:]
            self._field(name, value)
        return events

    def _field(self, name: str, value: str) -> None:
        if name == "data":
            self._data.append(value)
            self._event_bytes += len(value)
            self._has_fields = True
        elif name == "event":
            self._event = value
            self._has_fields = True
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> SSEEvent | None:
        data, name = self._data, self._event
        self._data, self._event, self._has_fields = [], "", False
        if not data:
            return None
        value = data[0] if len(data) == 1 else "\n".join(data)
        return SSEEvent(name or "message", value, self._last_id, self._retry)
