"""The ``grep`` tool: search file contents with a Python regular expression.

Results are ``path:line: text``, one per matching line, in a stable file
order. Binary files and ``.git`` are skipped. The search stops collecting once
the output cap is reached, so a pattern matching everything in a big tree
stays cheap.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.output import cap_output, head_bytes
from ikigai.engine.tools.specs import GREP as SPEC
from ikigai.engine.tools.textfiles import file_is_binary
from ikigai.engine.tools.walk import matches_glob, walk_files

MAX_LINE_CHARS = 500
_NOTE_RESERVE = 160  # room kept under the cap for the truncation note


def _compile(regex: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as error:
        raise ToolError(
            f"invalid regular expression {regex!r}: {error} (Python re syntax; escape "
            "special characters such as ( [ { . * + ? with a backslash to match them)"
        ) from error


def _search_file(path: Path, pattern: re.Pattern[str], shown: str, results: list[str]) -> int:
    """Append matches in ``path`` to ``results``; return how many bytes they added."""
    added = 0
    try:
        if file_is_binary(path):
            return 0
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if pattern.search(line):
                    text = line.rstrip("\r\n")
                    if len(text) > MAX_LINE_CHARS:
                        text = text[:MAX_LINE_CHARS] + " [line shortened]"
                    entry = f"{shown}:{number}: {text}"
                    results.append(entry)
                    added += len(entry.encode("utf-8")) + 1
    except OSError:
        return added  # unreadable files (permissions, vanished) are skipped
    return added


def _grep(arguments: dict[str, Any], context: ToolContext) -> str:
    pattern = _compile(arguments["regex"])
    raw_path: str = arguments.get("path", ".")
    base = resolve_path(raw_path, context)
    if not base.exists():
        raise ToolError(f"path {raw_path!r} does not exist")
    file_filter: str | None = arguments.get("glob")
    results: list[str] = []
    size = 0
    stopped = False
    for path in walk_files(base, context.roots()):
        relative = path.relative_to(base).as_posix() if path != base else path.name
        if file_filter and not matches_glob(relative, file_filter):
            continue
        size += _search_file(path, pattern, display_path(path, context), results)
        if size > context.output_cap:
            stopped = True
            break
    if not results:
        return f"No matches for {arguments['regex']!r} in {display_path(base, context)}"
    text = "\n".join(results)
    if not stopped:
        return text
    head = head_bytes(text, context.output_cap - _NOTE_RESERVE)
    return (
        f"{head}\n[output truncated at {len(head.encode('utf-8')):,} bytes: the search "
        "stopped early and more matches exist; narrow the regex, path or glob]"
    )


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Search for ``arguments['regex']`` and list matching lines."""
    text = await asyncio.to_thread(_grep, arguments, context)
    return ToolResult(ok=True, output=cap_output(text, context.output_cap))


TOOL = Tool(spec=SPEC, read_only=True, run=run)
