"""Capping tool output so one call cannot flood the model's context.

Output is measured in UTF-8 bytes. When it is cut, a note says how big it was
and how much is shown, so the model knows to narrow its request.
"""

from __future__ import annotations


def truncation_note(total_bytes: int, shown_bytes: int) -> str:
    """The line appended to output that was cut."""
    return f"[output truncated: {total_bytes:,} bytes, showing the first {shown_bytes:,}]"


def _head(data: bytes, cap: int) -> str:
    """The first ``cap`` bytes decoded, dropping a character split at the cut."""
    return data[:cap].decode("utf-8", errors="ignore")


def head_bytes(text: str, cap: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``cap`` bytes."""
    return _head(text.encode("utf-8"), cap)


def cap_output(text: str, cap: int) -> str:
    """``text`` unchanged if it fits in ``cap`` bytes, else its head plus a truncation note."""
    data = text.encode("utf-8")
    if len(data) <= cap:
        return text
    head = _head(data, cap)
    shown = len(head.encode("utf-8"))
    return f"{head}\n{truncation_note(len(data), shown)}"


class CappedBuffer:
    """Collects a byte stream, keeping only the first ``cap`` bytes but counting all.

    Used for subprocess output so that a command printing gigabytes costs
    ``cap`` bytes of memory, not gigabytes.
    """

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._parts: list[bytes] = []
        self._kept = 0
        self.total = 0

    def add(self, chunk: bytes) -> None:
        """Count ``chunk`` and keep as much of it as still fits."""
        self.total += len(chunk)
        room = self._cap - self._kept
        if room > 0:
            kept = chunk[:room]
            self._parts.append(kept)
            self._kept += len(kept)

    def text(self) -> str:
        """The kept output as text, with a truncation note when bytes were dropped."""
        data = b"".join(self._parts)
        if self.total <= self._cap:
            return data.decode("utf-8", errors="replace")
        head = _head(data, self._cap)
        return f"{head}\n{truncation_note(self.total, len(head.encode('utf-8')))}"
