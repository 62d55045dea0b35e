"""The ``file_edit`` tool: replace an exact string in a file.

The match is exact (no regex, no whitespace folding) and, unless
``replace_all`` is set, must be unique: an ambiguous edit is refused with the
number of matches, so the model adds context instead of changing the wrong
place. Line endings are preserved because the file is read and written
without newline translation.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.specs import FILE_EDIT as SPEC
from ikigai.engine.tools.textfiles import SNIFF_BYTES, looks_binary


def edit_text(text: str, old: str, new: str, replace_all: bool, name: str) -> tuple[str, int]:
    """Apply one edit to ``text``: the new text and how many occurrences were replaced.

    Raises ``ToolError`` when ``old`` is empty, equals ``new``, is missing, or is
    ambiguous without ``replace_all``. ``name`` is used in messages.
    """
    if not old:
        raise ToolError("old_string must not be empty; use file_write to create or fill a file")
    if old == new:
        raise ToolError("old_string and new_string are identical; there is nothing to change")
    count = text.count(old)
    if count == 0:
        raise ToolError(
            f"old_string was not found in {name}; it must match exactly, including "
            "whitespace and indentation (read the file again to copy it)"
        )
    if count > 1 and not replace_all:
        raise ToolError(
            f"old_string occurs {count} times in {name}; include more surrounding context "
            "to make it unique, or set replace_all to true to replace every occurrence"
        )
    return text.replace(old, new), count


def _edit(arguments: dict[str, Any], context: ToolContext) -> str:
    raw_path: str = arguments["path"]
    path = resolve_path(raw_path, context)
    if not path.exists():
        raise ToolError(f"file {raw_path!r} does not exist; use file_write to create it")
    if path.is_dir():
        raise ToolError(f"{raw_path!r} is a directory, not a file")
    data = path.read_bytes()
    if looks_binary(data[:SNIFF_BYTES]):
        raise ToolError(f"{raw_path!r} is a binary file; file_edit only edits text files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ToolError(
            f"{raw_path!r} is not valid UTF-8 (byte {error.start}); file_edit will not rewrite it"
        ) from error
    name = display_path(path, context)
    updated, count = edit_text(
        text,
        arguments["old_string"],
        arguments["new_string"],
        bool(arguments.get("replace_all", False)),
        name,
    )
    try:
        path.write_bytes(updated.encode("utf-8"))
    except OSError as error:
        raise ToolError(f"could not write {raw_path!r}: {error.strerror or error}") from error
    return f"Replaced {count} occurrences in {name}" if count > 1 else f"Edited {name}"


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Apply the edit described by ``arguments`` to its file."""
    message = await asyncio.to_thread(_edit, arguments, context)
    return ToolResult(ok=True, output=message)


TOOL = Tool(spec=SPEC, read_only=False, run=run)
