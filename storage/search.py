"""Turning what a person types into a safe FTS5 query.

FTS5 has its own syntax (quotes, ``AND``/``OR``/``NOT``, ``NEAR``, ``*``, ``^``,
column filters); raw user input would raise syntax errors. Every whitespace-
separated word becomes a quoted phrase, all must match, and the last word is
a prefix so results appear while the word is still being typed.
"""

from __future__ import annotations


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for ``text``, or ``None`` when it has no words."""
    # SQLite ends the query string at a NUL byte, which would leave a quote open.
    words = [
        word for word in text.replace("\x00", " ").split() if any(char.isalnum() for char in word)
    ]
    if not words:
        return None
    phrases = ['"' + word.replace('"', '""') + '"' for word in words]
    phrases[-1] += " *"
    return " ".join(phrases)
