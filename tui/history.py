"""Persisted prompt history: what the user sent, for Up/Down in the input.

A JSON-lines file under the user data dir (``$XDG_DATA_HOME/ikigai`` on Linux),
one ``{"text": ...}`` per line, newest last, capped at ``limit`` entries (the
file is rewritten when it grows past twice that). Unreadable lines are
skipped; a file that cannot be written only loses history, never the app.
"""

from __future__ import annotations

import json
from pathlib import Path

from ikigai.engine.private_files import append_private, write_private


def default_history_path() -> Path:
    """``<user data dir>/ikigai/prompt-history.jsonl``."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("ikigai", appauthor=False)) / "prompt-history.jsonl"


class PromptHistory:
    """The list of past prompts and a cursor for walking it."""

    def __init__(self, path: Path | None = None, limit: int = 1000) -> None:
        self.path = path if path is not None else default_history_path()
        self.limit = limit
        self.entries: list[str] = self._read()
        self._cursor: int | None = None
        self._draft = ""

    def _read(self) -> list[str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        entries: list[str] = []
        for line in lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and isinstance(value.get("text"), str):
                entries.append(value["text"])
        return entries[-self.limit :]

    def add(self, text: str) -> None:
        """Remember ``text`` (not twice in a row) and reset the cursor."""
        self._cursor = None
        if not text.strip() or (self.entries and self.entries[-1] == text):
            return
        self.entries.append(text)
        try:
            if len(self.entries) > 2 * self.limit:
                self.entries = self.entries[-self.limit :]
                body = "".join(json.dumps({"text": e}) + "\n" for e in self.entries)
                write_private(self.path, body)
            else:
                append_private(self.path, json.dumps({"text": text}) + "\n")
        except OSError:
            pass

    def previous(self, draft: str) -> str | None:
        """The entry before the cursor (``draft`` is kept to come back to), or None."""
        if not self.entries:
            return None
        if self._cursor is None:
            self._draft = draft
            self._cursor = len(self.entries)
        if self._cursor == 0:
            return None
        self._cursor -= 1
        return self.entries[self._cursor]

    def next(self) -> str | None:
        """The entry after the cursor; past the newest, the saved draft; None if not walking."""
        if self._cursor is None:
            return None
        self._cursor += 1
        if self._cursor >= len(self.entries):
            self._cursor = None
            return self._draft
        return self.entries[self._cursor]
