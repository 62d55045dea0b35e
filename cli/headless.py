"""Headless mode: ``ikigai -p PROMPT`` streams one turn to stdout for scripts.

``--output text`` writes the answer text as it arrives (thinking is not
printed); ``--output jsonl`` writes every event as one JSON object per line
with the contract's field names, plus a ``stored`` line with the id of each
stored message (the prompt and each answer right after that response's
``start``, or just before its ``error`` when it never started; the tool
results' after that response's ``tool_result`` lines), so a response still begins with
``start`` and ends with ``done`` or ``error``. Retry notices, fallbacks to
another model, turn notes and warnings go to stderr in both modes, so stdout
stays a clean answer or a clean event log. Retry notices go there only when
stderr is a terminal: a script that captures stderr gets exactly one line for
a failed run.

In text mode the text of each response starts on a line of its own (an
answer after a tool call does not run on from the text before the call), and
each tool call gets one line on stderr (``ikigai: tool file_read
notes.txt: ok, 12 lines``, ``ikigai: tool bash ls: denied by policy (use
--allow bash)``).

A ``done`` line carries ``cost_usd`` besides the contract's fields when the
response's price is known (``providers.model_facts``).

Output is flushed once per batch of events rather than once per delta: a
flush is scheduled with ``call_soon`` and runs when the stream next waits on
the network, which keeps a terminal live without a syscall per token.

A reader that goes away (``ikigai -p ... | head -2``) ends the output, not the
run: nothing more is written, the answer still arrives and is stored, and the
exit status is 141 (128 + SIGPIPE), as for other command-line tools.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TextIO

from ikigai.cli.exits import silence_stdout
from ikigai.engine.events import (
    Fallback,
    Notice,
    RunnerEvent,
    Stored,
    ToolResultEvent,
    ToolRun,
    TurnNote,
    UserPrompt,
)
from ikigai.engine.textsafety import escape_json_controls, neutralize
from ikigai.providers.events import Done, Error, Retry, Start, TextDelta

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
        self._text_response = 0
        """The response whose text was written last."""
        self._after_pause = False
        """The last response was paused: the next one goes on with the same answer."""
        self._held: list[Stored] = []
        """``stored`` lines waiting for their response's ``start`` (or its end)."""
        self._calls: dict[str, str] = {}
        self.closed = False
        """The reader of stdout went away (a broken pipe): nothing more is written."""
        self._fallbacks: list[Fallback] = []
        self._show_retries = _is_terminal(stderr)

    def __call__(
        self, response_number: int, event: RunnerEvent, cost_usd: float | None = None
    ) -> None:
        kind = type(event)
        if kind is TextDelta and not self.jsonl:  # nearly every event of a run: first
            assert isinstance(event, TextDelta)
            self._text(response_number, event.text)
            return
        if kind is UserPrompt:
            return
        if kind is ToolRun:
            assert isinstance(event, ToolRun)
            self._calls[event.id] = event.arguments
            return
        if kind is ToolResultEvent and not self.jsonl:
            assert isinstance(event, ToolResultEvent)
            self._tool_line(event)
            return
        if kind is Retry:
            assert isinstance(event, Retry)
            if not self._show_retries:
                return
            self.stderr.write(neutralize(f"ikigai: {event.describe()} ({event.message})") + "\n")
            self.stderr.flush()
            return
        if kind is Fallback:
            assert isinstance(event, Fallback)
            self._fallbacks.append(event)
            self.error_line(event.describe())
            return
        if kind is TurnNote:
            assert isinstance(event, TurnNote)
            self.error_line(f"note: {event.text}")
            return
        if kind is Done:
            assert isinstance(event, Done)
            self._fallbacks.clear()  # a model answered: earlier skips are not this failure's
            self._after_pause = event.paused
        if self.jsonl:
            if kind is Stored:
                assert isinstance(event, Stored)
                if event.kind in ("user", "assistant"):
                    self._held.append(event)
                    return
            if self._held and (kind is Error or kind is Done):
                self._write_held()
            self._write_line(event, cost_usd)
            if self._held and kind is Start:
                self._write_held()
        self._schedule_flush()

    def _text(self, response_number: int, text: str) -> None:
        """Answer text in text mode (``neutralize``d for a terminal)."""
        if self.sanitize:
            text = neutralize(text)
        if text:
            if (
                response_number != self._text_response
                and not self._ends_with_newline
                and not self._after_pause
            ):
                text = "\n" + text  # the next response's text starts a line of its own
            self._text_response = response_number
            self._write(text)
            self._ends_with_newline = text.endswith("\n")
            self._wrote_text = True
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and not self.closed:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _write_line(self, event: RunnerEvent, cost_usd: float | None = None) -> None:
        fields = event.to_dict()
        if cost_usd is not None and type(event) is Done:
            fields["cost_usd"] = cost_usd
        line = json.dumps(fields, ensure_ascii=False)
        self._write(escape_json_controls(line) + "\n")

    def _write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stdout.write(text)
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        """Stop writing to a closed pipe (stdout now goes to /dev/null)."""
        self.closed = True
        silence_stdout(self.stdout)

    def _tool_line(self, result: ToolResultEvent) -> None:
        from ikigai.engine.tools.summary import call_summary, result_summary

        call = call_summary(result.name, self._calls.pop(result.id, ""))
        outcome = result_summary(result.name, result.ok, result.output, headless=True)
        self.stderr.write(neutralize(f"ikigai: tool {call}: {outcome}") + "\n")
        self.stderr.flush()

    def _write_held(self) -> None:
        held, self._held = self._held, []
        for stored in held:
            self._write_line(stored)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self.closed:
            return
        try:
            self.stdout.flush()
        except BrokenPipeError:
            self._reader_gone()

    def finish(self) -> None:
        """End the output cleanly: text that did not end a line gets a newline, ids of
        a response that never began (a cancel) are still written."""
        if self._held:
            self._write_held()
        if not self.jsonl and self._wrote_text and not self._ends_with_newline:
            self._write("\n")
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
        if self._fallbacks:
            tried = [f"{f.failed} ({f.category})" for f in self._fallbacks]
            tried.append(f"{self._fallbacks[-1].next} ({error.category})")
            self.stderr.write(neutralize(f"ikigai: every model failed: {', '.join(tried)}") + "\n")
        self.stderr.flush()

    def error_line(self, text: str) -> None:
        """One ``ikigai: ...`` line on stderr (neutralized)."""
        self.stderr.write(neutralize(f"ikigai: {text}") + "\n")
        self.stderr.flush()

    def notice(self, notice: Notice) -> None:
        """What the engine says about the context (a compaction, AGENTS.md) or an MCP
        server, on stderr as it happens.

        Storage notices are not written as they happen: a run that could not
        store everything ends with one line saying so.
        """
        if notice.source == "storage":
            return
        if notice.source == "mcp" and notice.level == "warning":
            self.warn(notice.text)
        else:
            self.error_line(notice.text)

    def summary(self, text: str) -> None:
        """The summary ``/compact`` made, on stdout (text output only)."""
        if not self.jsonl:
            body = neutralize(text) if self.sanitize else text
            self._write(body.rstrip("\n") + "\n")
            self._flush()

    def warn(self, text: str) -> None:
        self.stderr.write(neutralize(f"ikigai: warning: {text}") + "\n")
        self.stderr.flush()


def stdout_is_terminal() -> bool:
    return _is_terminal(sys.stdout)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
