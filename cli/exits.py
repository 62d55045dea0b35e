"""The exit statuses of the ``ikigai`` command (documented in the README)."""

from collections.abc import Callable
from typing import IO

EXIT_OK = 0
"""Success."""
EXIT_FAILURE = 1
"""The provider or the network failed (one line on stderr names the category)."""
EXIT_USAGE = 2
"""Usage, configuration or storage problems."""
EXIT_INTERRUPTED = 130
"""Ctrl+C (the shell's convention for SIGINT); the partial answer is stored."""
EXIT_BROKEN_PIPE = 141
"""The reader of stdout went away (``| head``); the answer was still stored."""
EXIT_HANGUP = 129
"""SIGHUP (the terminal went away): handled like Ctrl+C."""
EXIT_TERMINATED = 143
"""SIGTERM: handled like Ctrl+C."""


def silence_stdout(stream: IO[str] | None = None) -> None:
    """Point the file descriptor of ``stream`` (stdout) at /dev/null: its reader went
    away, and the interpreter's own flush at exit must not fail (or print a
    traceback) either."""
    import contextlib
    import os
    import sys

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, (stream or sys.stdout).fileno())
        os.close(devnull)


def write_out(write: Callable[[], int]) -> int:
    """Run ``write`` (which prints to stdout and returns an exit status) and flush;
    a reader that went away (``| head``) ends it quietly with status 141."""
    import sys

    try:
        status = write()
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE
    return status


class UsageError(Exception):
    """A problem with how ikigai was invoked or configured; exit status 2."""


def fail(message: str) -> int:
    """Print ``ikigai: message`` on stderr and return the usage exit status."""
    import sys

    from ikigai.engine.textsafety import neutralize

    print(f"ikigai: {neutralize(message)}", file=sys.stderr)
    return EXIT_USAGE
