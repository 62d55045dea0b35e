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
"""

from __future__ import annotations

from dataclasses import dataclass

_LF = 0x0A
_CR = 0x0D
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its ``event`` name (``message`` by default) and ``data``."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes with ``feed``; it returns the events completed by them."""

    __slots__ = (
        "_data",
        "_event",
        "_has_fields",
        "_last_id",
        "_partial",
        "_retry",
        "_skip_lf",
        "_started",
    )

    def __init__(self) -> None:
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

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completed, in order."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if not chunk:
            return []
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last < 0:
            self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(chunk[: last + 1])
            complete = b"".join(self._partial)
            self._partial = []
        else:
            complete = chunk[: last + 1]
        rest = chunk[last + 1 :]
        if rest:
            self._partial.append(rest)
        elif chunk[last] == _CR:
            # A CR at the very end may be the first half of a CRLF.
            self._skip_lf = True
        return self._lines(complete.splitlines())

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for raw in lines:
            if not raw:
                if self._has_fields:
                    event = self._dispatch()
                    data = self._data
                    if event is not None:
                        events.append(event)
                continue
            if raw[:6] == b"data: " and self._started:
                # The common case, kept short: one data line with the usual space.
                data.append(raw[6:].decode("utf-8", "replace"))
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
        return SSEEvent(name or "message", "\n".join(data), self._last_id, self._retry)
