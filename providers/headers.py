"""Header values that can be sent, and secrets that never leave in an error message.

An API key read from a file with Windows line ends keeps its ``\\r``; one pasted
from a document may hold a non-breaking space or a typographic dash. Sent as a
header, the first makes the HTTP layer fail with a message quoting the whole
header (``Illegal header value b'Bearer sk-...\\r'``) and the second fails
before anything is sent. ``check_header_values`` finds these problems once, at
start, in words that name the variable or header but never show the value.

``SecretMasker`` is the second line of defence: every error and retry message
a provider produces passes through it, so a key or a configured header value
that a server echoes back, or an exception quotes, is replaced by ``***``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ikigai.providers.http import ProviderOptions

MASK = "***"
MIN_SECRET_LENGTH = 8
"""Shorter values are placeholders (local servers take any key) and are not masked:
masking ``k`` or ``1`` everywhere would garble every message."""

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_NAMES = {
    "\r": "a carriage return (\\r)",
    "\n": "a line feed (\\n)",
    "\t": "a tab",
    " ": "a space",
    "\x00": "a NUL byte",
    "\u00a0": "a non-breaking space",
    "\ufeff": "a byte order mark",
}


def _describe(char: str) -> str:
    if char in _NAMES:
        return _NAMES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"a control character (U+{ord(char):04X})"
    return f"a non-ASCII character (U+{ord(char):04X})"


def _where(value: str, position: int) -> str:
    if position == len(value) - 1:
        return "at its end"
    if position == 0:
        return "at its start"
    return f"at position {position + 1} of {len(value)}"


def _hint(char: str, position: int, value: str) -> str:
    if char == "\r" and position == len(value) - 1:
        return " (a value read from a file with Windows line ends keeps it)"
    if char in "\r\n" and position == len(value) - 1:
        return " (a value read from a file keeps its line end)"
    return ""


def _bad_character(value: str, *, whitespace_allowed: bool) -> int | None:
    """The position of the first character that cannot (or should not) be sent, or None."""
    for position, char in enumerate(value):
        code = ord(char)
        if 0x21 <= code <= 0x7E:
            continue
        inner = 0 < position < len(value) - 1
        if whitespace_allowed and char in " \t" and inner:
            continue
        return position
    return None


def validate_api_key(value: str, variable: str) -> str | None:
    """One line saying what is wrong with the key in ``variable``, or None if it can be sent.

    The line names the variable and the offending character, never the key.
    A key is printable ASCII without spaces (every vendor's keys are).
    """
    if not value:
        return f"{variable} is empty"
    position = _bad_character(value, whitespace_allowed=False)
    if position is None:
        return None
    char = value[position]
    return (
        f"{variable} contains {_describe(char)} {_where(value, position)}"
        f"{_hint(char, position, value)}; an API key is printable ASCII without spaces"
    )


def validate_header(name: str, value: str) -> str | None:
    """One line saying why header ``name: value`` cannot be sent, or None; never shows the value."""
    if not _TOKEN.match(name):
        return f"the header name {name!r} is not a valid HTTP header name"
    position = _bad_character(value, whitespace_allowed=True)
    if position is None:
        return None
    char = value[position]
    return (
        f"header {name!r} contains {_describe(char)} {_where(value, position)}"
        f"{_hint(char, position, value)}; header values are printable ASCII"
    )


def check_header_values(options: ProviderOptions, key_variable: str | None = None) -> list[str]:
    """Every problem with the API key and configured headers of ``options``, one line each.

    ``key_variable`` names the key in the messages (``OPENAI_API_KEY``); without
    it the key is called "the API key". An empty list means everything can be
    sent. Call it once before the first request: the provider refuses to send
    a request with any of these problems either way.
    """
    problems: list[str] = []
    if options.api_key:  # an empty key is not sent at all
        problem = validate_api_key(options.api_key, key_variable or "the API key")
        if problem is not None:
            problems.append(problem)
    for name, value in options.headers.items():
        problem = validate_header(name, value)
        if problem is not None:
            problems.append(problem)
    return problems


def _variants(secret: str) -> Iterable[str]:
    """The forms in which ``secret`` may appear inside a message."""
    yield secret
    yield secret.strip()
    yield repr(secret)[1:-1]
    yield json.dumps(secret)[1:-1]
    yield json.dumps(secret, ensure_ascii=False)[1:-1]
    yield repr(secret.encode("utf-8", "replace"))[2:-1]
    # The printable runs on their own: an exception may quote the value with
    # the offending characters escaped in any of several ways.
    yield from re.split(r"[^\x21-\x7e]+", secret)


class SecretMasker:
    """Replaces secrets (and their quoted forms) in text with ``***``."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {
            form
            for secret in secrets
            if secret and len(secret.strip()) >= MIN_SECRET_LENGTH
            for form in _variants(secret)
            if len(form) >= MIN_SECRET_LENGTH
        }
        # Longest first, so a quoted form is replaced whole before its parts.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def for_options(cls, options: ProviderOptions) -> SecretMasker:
        """A masker for the key, the configured header values and a password in the URL."""
        secrets = [options.api_key or "", *options.headers.values()]
        try:
            password = urlsplit(options.base_url).password
        except ValueError:
            password = None
        if password:
            secrets.append(password)
        return cls(secrets)

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)
