"""The real ``ikigai`` app in a pseudo-terminal, for tests that need a real terminal."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path


class Terminal:
    """A pseudo-terminal of 160x50 with ``ikigai`` running in it; collects what it writes."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: Path,
        *,
        python: tuple[str, ...] = ("-m", "ikigai"),
        controlling: bool = True,
    ) -> None:
        """``python`` runs ikigai (a ``-c`` probe can wrap its ``main``); ``controlling``
        False starts it in a session of its own without the terminal as its controlling
        one (as some harnesses do: closing the terminal then sends no SIGHUP)."""
        self.output = bytearray()
        self.controller, terminal = os.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, *python, *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env={**env, "TERM": "xterm-256color"},
            cwd=cwd,
            # Its own session with the pseudo-terminal as controlling terminal, as
            # in a terminal window: closing the window sends the session SIGHUP.
            preexec_fn=_take_terminal if controlling else None,
            start_new_session=not controlling,
        )
        os.close(terminal)

    def read_until(self, condition: Callable[[bytes], bool], seconds: float = 30) -> None:
        """Collect output until ``condition(output)`` holds; fails after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not condition(bytes(self.output)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the terminal shows {bytes(self.output)[-600:]!r}")
            ready, _, _ = select.select([self.controller], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.controller, 65536)
                except OSError:  # the app exited and closed the terminal
                    return
                if not data:
                    return
                self.output.extend(data)

    def type(self, keys: bytes) -> None:
        os.write(self.controller, keys)

    def close(self) -> int:
        """Wait for the app to exit (killed after 20 s) and return its status."""
        try:
            status = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.controller)
        return status


def _take_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def open_and_quit(args: list[str], env: dict[str, str], cwd: Path, python: tuple[str, ...]) -> int:
    """Run ikigai (through ``python``) until its session is open, quit with Ctrl+Q; the
    exit status."""
    terminal = Terminal(args, env, cwd, python=python)
    try:
        terminal.read_until(lambda out: b"Enter sends" in out)  # the session is open
        terminal.type(b"\x11")  # ctrl+q
        terminal.read_until(lambda out: terminal.process.poll() is not None)
    finally:
        status = terminal.close()
    return status
