"""The ``grep`` tool: search file contents with a linear-time (RE2) regular expression.

Results are ``path:line: text``, one per matching line, in a stable file
order. Binary files, ``.git`` and anything that is not a regular file (FIFOs,
devices, sockets: never opened) are skipped. The search runs in a worker
thread that checks a stop flag at every file and line, so a cancelled turn
or the call's time limit stops it; RE2 cannot backtrack, so no single line
can take long either. Lines are read in bounded memory: a line longer than
``MAX_SEARCH_BYTES`` is searched in its first ``MAX_SEARCH_BYTES`` only, and
the result says how many were. The search stops collecting once the output
cap is reached, so a pattern matching everything in a big tree stays cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.blocking import StopFlag, run_stoppable
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.lines import BUFFER_BYTES, iter_lines, shortened_note
from ikigai.engine.tools.output import cap_output, head_bytes
from ikigai.engine.tools.regex import Pattern, RegexError, compile_pattern
from ikigai.engine.tools.regular import kind_of, open_regular
from ikigai.engine.tools.specs import GREP as SPEC
from ikigai.engine.tools.textfiles import SNIFF_BYTES, looks_binary
from ikigai.engine.tools.walk import matches_glob, walk_files

MAX_LINE_CHARS = 500
MAX_SEARCH_BYTES = 1024 * 1024
"""How much of one line is searched (and held in memory)."""
_NOTE_RESERVE = 240  # room kept under the cap for the notes


def _compile(regex: str) -> Pattern:
    try:
        return compile_pattern(regex)
    except RegexError as error:
        raise ToolError(f"invalid regular expression {regex!r}: {error}") from error


@dataclass(slots=True)
class _Search:
    """The state of one grep call: matches so far and what was cut."""

    pattern: Pattern
    stop: StopFlag
    results: list[str]
    size: int = 0
    long_lines: int = 0

    def file(self, path: Path, shown: str) -> None:
        """Append the matches in ``path``; unreadable or vanished files are skipped."""
        try:
            fd = open_regular(path, shown, "grep")
        except ToolError:
            return
        with os.fdopen(fd, "rb", buffering=BUFFER_BYTES) as handle:
            try:
                if looks_binary(handle.read(SNIFF_BYTES)):
                    return
                handle.seek(0)
                for line in iter_lines(handle, MAX_SEARCH_BYTES, self.stop):
                    if line.cut:
                        self.long_lines += 1
                    if self.pattern.search(line.head) is None:
                        continue
                    text = line.head[: MAX_LINE_CHARS * 4].decode("utf-8", "replace")
                    if len(text) > MAX_LINE_CHARS or line.cut:
                        text = f"{text[:MAX_LINE_CHARS]} {shortened_note(line.length)}"
                    entry = f"{shown}:{line.number}: {text}"
                    self.results.append(entry)
                    self.size += len(entry.encode("utf-8")) + 1
            except OSError:
                return


def _grep(stop: StopFlag, arguments: dict[str, Any], context: ToolContext) -> str:
    pattern = _compile(arguments["regex"])
    raw_path: str = arguments.get("path", ".")
    base = resolve_path(raw_path, context)
    try:
        mode = os.stat(base).st_mode
    except FileNotFoundError:
        raise ToolError(f"path {raw_path!r} does not exist") from None
    kind = kind_of(mode)
    if kind not in ("a directory", "a regular file"):
        raise ToolError(f"path {raw_path!r} is {kind}; grep searches files and directories")
    file_filter: str | None = arguments.get("glob")
    search = _Search(pattern, stop, [])
    stopped = False
    for path in walk_files(base, context.roots(), stop):
        relative = path.relative_to(base).as_posix() if path != base else path.name
        if file_filter and not matches_glob(relative, file_filter):
            continue
        search.file(path, display_path(path, context))
        if search.size > context.output_cap:
            stopped = True
            break
    notes = []
    if search.long_lines:
        count = "1 line" if search.long_lines == 1 else f"{search.long_lines:,} lines"
        notes.append(
            f"[{count} longer than {MAX_SEARCH_BYTES:,} bytes searched in their first "
            f"{MAX_SEARCH_BYTES:,} bytes only]"
        )
    if not search.results:
        return "\n".join(
            [f"No matches for {arguments['regex']!r} in {display_path(base, context)}", *notes]
        )
    text = "\n".join(search.results)
    if not stopped:
        return "\n".join([text, *notes])
    head = head_bytes(text, context.output_cap - _NOTE_RESERVE)
    return "\n".join(
        [
            f"{head}\n[output truncated at {len(head.encode('utf-8')):,} bytes: the search "
            "stopped early and more matches exist; narrow the regex, path or glob]",
            *notes,
        ]
    )


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Search for ``arguments['regex']`` and list matching lines."""
    text = await run_stoppable(_grep, arguments, context)
    return ToolResult(ok=True, output=cap_output(text, context.output_cap))


TOOL = Tool(spec=SPEC, read_only=True, run=run)
