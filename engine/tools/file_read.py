"""The ``file_read`` tool: a window of a text file, with line numbers.

Lines are read lazily, so asking for lines 1-100 of a huge log costs 100
lines. Binary files are refused rather than dumped into the model's context.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.confinement import resolve_path
from ikigai.engine.tools.output import cap_output
from ikigai.engine.tools.specs import DEFAULT_LIMIT
from ikigai.engine.tools.specs import FILE_READ as SPEC
from ikigai.engine.tools.textfiles import file_is_binary

MAX_LINE_CHARS = 2000
_NOTE_RESERVE = 128  # room kept under the cap for the "more lines" note


def _read(raw_path: str, offset: int, limit: int, context: ToolContext) -> str:
    path = resolve_path(raw_path, context)
    if not path.exists():
        raise ToolError(f"file {raw_path!r} does not exist")
    if path.is_dir():
        raise ToolError(f"{raw_path!r} is a directory; use glob to list files")
    if file_is_binary(path):
        raise ToolError(f"{raw_path!r} is a binary file; file_read only reads text files")
    budget = context.output_cap - _NOTE_RESERVE
    lines: list[str] = []
    size = 0
    more = False
    last_seen = 0
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            last_seen = number
            if number < offset:
                continue
            text = line.rstrip("\r\n")
            if len(text) > MAX_LINE_CHARS:
                text = text[:MAX_LINE_CHARS] + " [line shortened]"
            entry = f"{number:>6}\t{text}"
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
    text = await asyncio.to_thread(_read, arguments["path"], offset, limit, context)
    return ToolResult(ok=True, output=cap_output(text, context.output_cap))


TOOL = Tool(spec=SPEC, read_only=True, run=run)
