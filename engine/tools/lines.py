"""Reading a file line by line in bounded memory, however long its lines are.

``for line in handle`` reads a whole line before returning it: a 400 MB file
without a newline costs 400 MB (twice, once decoded). Here each line yields
at most ``max_bytes`` of its head; the rest is skipped in small chunks and
only counted, so a caller can say how much it cut. The stop flag is checked
at every line and chunk, so a cancelled call stops mid-file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ikigai.engine.tools.blocking import StopFlag

SKIP_CHUNK = 256 * 1024

BUFFER_BYTES = 256 * 1024
"""Buffer size for files read with ``iter_lines``: the default 8 KiB makes skipping
a long line cost a system call per 8 KiB."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line: its 1-based number, at most ``max_bytes`` of it, and its full length."""

    number: int
    head: bytes
    """The line's first bytes, without the line break (``\\n`` or ``\\r\\n``)."""
    length: int
    """Bytes in the whole line, without the line break."""

    @property
    def cut(self) -> bool:
        """Whether ``head`` is only the beginning of the line."""
        return self.length > len(self.head)


def _strip_break(piece: bytes) -> bytes:
    if piece.endswith(b"\n"):
        piece = piece[:-1]
    return piece[:-1] if piece.endswith(b"\r") else piece


def iter_lines(handle: BinaryIO, max_bytes: int, stop: StopFlag) -> Iterator[Line]:
    """The lines of ``handle`` (a buffered binary file), in bounded memory."""
    number = 0
    while True:
        stop.check()
        piece = handle.readline(max_bytes + 1)
        if not piece:
            return
        number += 1
        if piece.endswith(b"\n") or len(piece) <= max_bytes:
            head = _strip_break(piece)
            yield Line(number, head, len(head))
            continue
        head = piece[:max_bytes]
        length = len(piece)
        while True:
            stop.check()
            rest = handle.readline(SKIP_CHUNK)
            length += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        if rest.endswith(b"\n"):
            length -= 2 if rest.endswith(b"\r\n") else 1
        yield Line(number, head, length)


def shortened_note(length: int) -> str:
    """What a shortened line ends with: how long the whole line was."""
    return f"[line shortened: {length:,} bytes in all]"
