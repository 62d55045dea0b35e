"""Running a program in a pseudo-terminal the way a user's terminal does, for the benchmarks.

``PtyApp`` starts a command with a pseudo-terminal of a fixed size as its
stdin, stdout and stderr (its own session, so it is the terminal's
foreground program), reads everything it writes (a terminal that never reads
would stall the program), and can type keys, wait for text to appear in the
output, and read the process's CPU time from the OS (``/proc/PID/stat``:
user + system time of every thread of the process).

Key echo is measured the way a user sees it: a character is typed and the
clock stops when that character is written back to the terminal. The
characters are CJK ideographs, which no benchmark answer or screen text
contains, and none is typed twice, so a character on screen is the one just
typed. They are not deleted one by one: Textual runs a backspace's binding
after a printable key that arrives with it, so "backspace, x" typed while
the app is busy paints as "x, backspace" and the echo of ``x`` is never
painted.

Linux only (``/proc``); no library does this for a child's pseudo-terminal
without a terminal emulator in the loop, which would cost CPU on the
measuring side.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_ECHO_FIRST = 0x4E00
"""The first CJK ideograph: typed to measure key echo, then the ones after it."""

_CLOCK_TICK = os.sysconf("SC_CLK_TCK")
_RECENT = 1 << 18
"""Bytes of recent output kept for ``wait_for``."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far, in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    # Fields 14 and 15 of stat(5) (utime, stime); the split drops "pid (comm)".
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class PtyApp:
    """One program running in a pseudo-terminal of ``size`` (columns, rows)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        size: tuple[int, int] = (120, 40),
        cwd: Path | None = None,
    ) -> None:
        master, slave = pty.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLORTERM": "truecolor"},
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.received = 0
        """Bytes read from the program so far."""
        self._tail = b""
        self._recent = bytearray()
        self._watch: list[tuple[bytes, Callable[[float], None]]] = []
        self._echo_next = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        """The program's CPU seconds so far."""
        return cpu_seconds(self.pid)

    # -- output ------------------------------------------------------------------------------

    def pump(self, seconds: float) -> None:
        """Read the program's output for ``seconds`` (at least once)."""
        deadline = time.monotonic() + seconds
        while True:
            self._read(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return

    def _read(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False once the program is gone."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:
            return False
        if not data:
            return False
        now = time.monotonic()
        self.received += len(data)
        self._recent += data
        if len(self._recent) > _RECENT:
            del self._recent[: len(self._recent) - _RECENT]
        if self._watch:
            window = self._tail + data
            for needle, found in list(self._watch):
                if needle in window:
                    self._watch.remove((needle, found))
                    found(now)
            self._tail = window[-64:]
        return True

    def watch(self, needle: bytes, found: Callable[[float], None]) -> None:
        """Call ``found(time)`` when ``needle`` is next written (searched from now on)."""
        self._tail = b""
        self._watch.append((needle, found))

    def wait_for(self, needle: bytes, timeout: float, *, what: str = "") -> float:
        """Read until ``needle`` appears (in recent output too); when it was read.

        For ``needle`` already in the recent output the time is now: use it for
        start-up states, not for latencies.
        """
        if needle in self._recent:
            return time.monotonic()
        seen: list[float] = []
        self.watch(needle, seen.append)
        deadline = time.monotonic() + timeout
        while not seen:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.05)):
                self.stop()
                raise SystemExit(f"timed out waiting for {what or needle!r}")
        return seen[0]

    # -- input -------------------------------------------------------------------------------

    def type(self, text: str) -> None:
        """Write ``text`` as if typed (``\\r`` is Enter)."""
        os.write(self.master, text.encode())

    def echo_latencies(
        self, *, interval: float, until: Callable[[], bool], limit: float = 60.0
    ) -> list[float]:
        """Type a key every ``interval`` s until ``until()``; each key's time to its echo.

        A key whose echo has not appeared when the next one is due is waited
        for (its latency keeps counting); reading never stops meanwhile. The
        typed text is deleted again afterwards, once the echoes are in.
        """
        latencies: list[float] = []
        deadline = time.monotonic() + limit
        typed_count = 0
        while not until() and time.monotonic() < deadline:
            char = chr(_ECHO_FIRST + self._echo_next)
            self._echo_next += 1
            seen: list[float] = []
            self.watch(char.encode(), seen.append)
            typed = time.monotonic()
            self.type(char)
            typed_count += 1
            while not seen and time.monotonic() < deadline:
                self._read(0.05)
            if not seen:
                break
            latencies.append(seen[0] - typed)
            self.pump(max(0.0, typed + interval - time.monotonic()))
        self.type("\x7f" * typed_count)
        self.pump(0.3)
        return latencies

    # -- end ---------------------------------------------------------------------------------

    def stop(self, keys: str = "\x11", grace: float = 10.0) -> int | None:
        """Quit with ``keys`` (Ctrl+Q), reading until the program ends; kill it after ``grace``."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.type(keys)
            deadline = time.monotonic() + grace
            while self.process.poll() is None and time.monotonic() < deadline:
                if not self._read(0.05):
                    break
            if self.process.poll() is None:
                try:
                    self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait()
        os.close(self.master)
        return code
