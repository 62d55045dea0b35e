"""Linear-time regular expressions (RE2) for ``grep`` and ``glob``.

Python's ``re`` backtracks: ``(a+)+$`` against 32 ``a`` and a ``!`` takes 2^32
steps, holding the GIL all the while, so one pattern from the model froze the
whole app and ignored Ctrl+C. RE2 (``google-re2``, with wheels for Linux and
macOS) matches in time linear in the input and releases the GIL while it
does. The price is a few features RE2 refuses by design (backreferences,
lookahead and lookbehind); such a pattern gets an error the model can act on.
``glob`` patterns are translated to RE2 too: ``*a*a*a*b`` is a backtracking
trap in ``re`` as well.
"""

from __future__ import annotations

from typing import Protocol, cast

import re2  # type: ignore[import-untyped]


class Pattern(Protocol):
    """The part of a compiled RE2 pattern the tools use."""

    def search(self, text: bytes | str) -> object | None:
        """A match anywhere in ``text``, or None."""

    def match(self, text: bytes | str) -> object | None:
        """A match at the start of ``text``, or None."""


_HINTS = (
    ("(?=", "lookahead is not supported"),
    ("(?!", "lookahead is not supported"),
    ("(?<=", "lookbehind is not supported"),
    ("(?<!", "lookbehind is not supported"),
    ("invalid escape sequence: \\Z", "write \\z for the end of the text"),
    *(
        (f"invalid escape sequence: \\{digit}", "backreferences are not supported")
        for digit in "123456789"
    ),
    ("invalid repetition size", "repetition counts go up to 1000"),
)


def _hint(message: str) -> str:
    for needle, hint in _HINTS:
        if needle in message:
            return hint
    return "escape special characters such as ( [ { . * + ? with a backslash to match them"


def _message(error: Exception) -> str:
    detail = error.args[0] if error.args else error
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail)


class RegexError(ValueError):
    """A pattern RE2 cannot compile, with a hint for fixing it."""


def compile_pattern(pattern: str) -> Pattern:
    """Compile ``pattern`` with RE2 (UTF-8, errors not logged to stderr).

    Raises ``RegexError`` with RE2's reason and a hint.
    """
    options = re2.Options()
    options.log_errors = False  # RE2 would print to the terminal otherwise
    try:
        return cast(Pattern, re2.compile(pattern, options))
    except re2.error as error:
        message = _message(error)
        raise RegexError(f"{message} (RE2 syntax: {_hint(message)})") from error
