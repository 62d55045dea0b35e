"""Headless mode: ``ikigai -p PROMPT`` streams one turn to stdout for scripts.

``--output text`` writes the answer text as it arrives (thinking is not
printed); ``--output jsonl`` writes every event as one JSON object per line
with the contract's field names. Retry notices and warnings go to stderr in
both modes, so stdout stays a clean answer or a clean event log.

A ``done`` line carries ``cost_usd`` besides the contract's fields when the
response's price is known (``providers.model_facts``).

Output is flushed once per batch of events rather than once per delta: a
flush is scheduled with ``call_soon`` and runs when the stream next waits on
the network, which keeps a terminal live without a syscall per token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import TextIO

from ikigai.engine.events import Notice, RunnerEvent, ToolRun, UserPrompt
from ikigai.engine.textsafety import escape_json_controls, neutralize
from ikigai.providers.events import Done, Error, Retry, TextDelta

__all__ = ["HeadlessWriter", "neutralize", "stdout_is_terminal"]


class HeadlessWriter:
    """Writes runner events to stdout in the chosen format and notices to stderr."""

    def __init__(self, output: str, stdout: TextIO, stderr: TextIO, *, sanitize: bool) -> None:
        self.jsonl = output == "jsonl"
        self.stdout = stdout
        self.stderr = stderr
        self.sanitize = sanitize and not self.jsonl
        self._flush_scheduled = False
        self._ends_with_newline = True
        self._wrote_text = False

    def __call__(
        self, response_number: int, event: RunnerEvent, cost_usd: float | None = None
    ) -> None:
        kind = type(event)
        if kind is UserPrompt or kind is ToolRun:
            return
        if kind is Retry:
            assert isinstance(event, Retry)
            self.stderr.write(neutralize(f"ikigai: {event.describe()} ({event.message})") + "\n")
            self.stderr.flush()
            return
        if self.jsonl:
            fields = event.to_dict()
            if cost_usd is not None and kind is Done:
                fields["cost_usd"] = cost_usd
            line = json.dumps(fields, ensure_ascii=False)
            self.stdout.write(escape_json_controls(line) + "\n")
        elif kind is TextDelta:
            assert isinstance(event, TextDelta)
            text = neutralize(event.text) if self.sanitize else event.text
            if text:
                self.stdout.write(text)
                self._ends_with_newline = text.endswith("\n")
                self._wrote_text = True
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        with contextlib.suppress(BrokenPipeError):
            self.stdout.flush()

    def finish(self) -> None:
        """End the output cleanly: text that did not end a line gets a newline."""
        if not self.jsonl and self._wrote_text and not self._ends_with_newline:
            self.stdout.write("\n")
        self._flush()

    def error(self, error: Error, hint: str = "") -> None:
        """The one stderr line for a failed run, naming the category (and what to do)."""
        status = f" (HTTP {error.http_status})" if error.http_status else ""
        if error.http_status and error.message.startswith(f"HTTP {error.http_status}"):
            status = ""
        retry = ""
        if error.retry_after_ms:
            retry = f"; retry after {error.retry_after_ms / 1000:.1f} s"
        line = f"ikigai: error: {error.category}{status}: {error.message}{retry}"
        if hint:
            line += f" — {hint}"
        self.stderr.write(neutralize(line) + "\n")
        self.stderr.flush()

    def error_line(self, text: str) -> None:
        """One ``ikigai: ...`` line on stderr (neutralized)."""
        self.stderr.write(neutralize(f"ikigai: {text}") + "\n")
        self.stderr.flush()

    def notice(self, notice: Notice) -> None:
        """What the engine says about the context (a compaction, AGENTS.md), on stderr.

        Storage notices are not written as they happen: a run that could not
        store everything ends with one line saying so.
        """
        if notice.source == "context":
            self.error_line(notice.text)

    def summary(self, text: str) -> None:
        """The summary ``/compact`` made, on stdout (text output only)."""
        if not self.jsonl:
            body = neutralize(text) if self.sanitize else text
            self.stdout.write(body.rstrip("\n") + "\n")
            self._flush()

    def warn(self, text: str) -> None:
        self.stderr.write(neutralize(f"ikigai: warning: {text}") + "\n")
        self.stderr.flush()


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
