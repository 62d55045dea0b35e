"""The exit statuses of the ``ikigai`` command (documented in the README)."""

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


class UsageError(Exception):
    """A problem with how ikigai was invoked or configured; exit status 2."""


def fail(message: str) -> int:
    """Print ``ikigai: message`` on stderr and return the usage exit status."""
    import sys

    from ikigai.engine.textsafety import neutralize

    print(f"ikigai: {neutralize(message)}", file=sys.stderr)
    return EXIT_USAGE
