"""The ``file_read`` tool: a window of a text file, with line numbers.

Lines are read lazily and in bounded memory: asking for lines 1-100 of a huge
log costs 100 lines, and a line of any length costs at most
``MAX_LINE_BYTES`` (the rest is skipped and counted, and the line says how
long it was). Binary files are refused rather than dumped into the model's
context, and so is anything that is not a regular file: a FIFO, a device or
a socket is refused before it is opened, so it cannot block the call. The
read runs in a worker thread that a cancelled turn or the call's time limit
stops.
"""

from __future__ import annotations

import os
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.blocking import StopFlag, run_stoppable
from ikigai.engine.tools.confinement import resolve_path
from ikigai.engine.tools.lines import BUFFER_BYTES, Line, iter_lines, shortened_note
from ikigai.engine.tools.output import cap_output
from ikigai.engine.tools.regular import check_regular, open_regular
from ikigai.engine.tools.specs import DEFAULT_LIMIT
from ikigai.engine.tools.specs import FILE_READ as SPEC
from ikigai.engine.tools.textfiles import SNIFF_BYTES, looks_binary

MAX_LINE_CHARS = 2000
MAX_LINE_BYTES = MAX_LINE_CHARS * 4
"""Bytes of one line held in memory: enough for ``MAX_LINE_CHARS`` of any UTF-8."""
_NOTE_RESERVE = 128  # room kept under the cap for the "more lines" note


def _entry(line: Line) -> str:
    text = line.head.decode("utf-8", errors="replace")
    if line.cut or len(text) > MAX_LINE_CHARS:
        text = f"{text[:MAX_LINE_CHARS]} {shortened_note(line.length)}"
    return f"{line.number:>6}\t{text}"


def _read(stop: StopFlag, raw_path: str, offset: int, limit: int, context: ToolContext) -> str:
    path = resolve_path(raw_path, context)
    if path.is_dir():
        raise ToolError(f"{raw_path!r} is a directory; use glob to list files")
    if check_regular(path, raw_path, "file_read") is None:
        raise ToolError(f"file {raw_path!r} does not exist")
    fd = open_regular(path, raw_path, "file_read")
    with os.fdopen(fd, "rb", buffering=BUFFER_BYTES) as handle:
        if looks_binary(handle.read(SNIFF_BYTES)):
            raise ToolError(f"{raw_path!r} is a binary file; file_read only reads text files")
        handle.seek(0)
        budget = context.output_cap - _NOTE_RESERVE
        lines: list[str] = []
        size = 0
        more = False
        last_seen = 0
        for line in iter_lines(handle, MAX_LINE_BYTES, stop):
            last_seen = line.number
            if line.number < offset:
                continue
            entry = _entry(line)
            entry_size = len(entry.encode("utf-8")) + 1
            if len(lines) == limit or (lines and size + entry_size > budget):
                more = True
                break
            lines.append(entry)
            size += entry_size
    if not lines:
        if last_seen == 0:
            return "(empty file)"
        raise ToolError(
            f"offset {offset} is past the end of {raw_path!r}, which has {last_seen} lines"
        )
    if more:
        next_line = offset + len(lines)
        lines.append(f"[more lines follow; continue with offset={next_line}]")
    return "\n".join(lines)


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Return the requested lines of ``arguments['path']``, numbered."""
    offset = int(arguments.get("offset", 1))
    limit = int(arguments.get("limit", DEFAULT_LIMIT))
    text = await run_stoppable(_read, arguments["path"], offset, limit, context)
    return ToolResult(ok=True, output=cap_output(text, context.output_cap))


TOOL = Tool(spec=SPEC, read_only=True, run=run)
