"""The ``file_edit`` tool: replace an exact string in a file.

The match is exact (no regex, no whitespace folding) and, unless
``replace_all`` is set, must be unique: an ambiguous edit is refused with the
number of matches, so the model adds context instead of changing the wrong
place. Line endings are preserved because the file is read and written
without newline translation.

The file is opened once, read and rewritten through the same descriptor, so
the checks made on it hold for what is written: it must be a regular file
(a FIFO or device is refused without blocking), have no other hard link
(another name for it may be outside the roots) and be at most
``MAX_EDIT_BYTES`` long (the whole file is held in memory).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.file_write import write_all
from ikigai.engine.tools.regular import check_regular, open_regular, refuse_hard_links
from ikigai.engine.tools.specs import FILE_EDIT as SPEC
from ikigai.engine.tools.textfiles import SNIFF_BYTES, looks_binary

MAX_EDIT_BYTES = 16 * 1024 * 1024
"""Largest file ``file_edit`` changes; bigger ones are for ``bash`` (sed, patch)."""


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


def _read_all(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size + 1  # one more byte tells a file that grew since fstat
    while remaining > 0 and (chunk := os.read(fd, min(remaining, 1024 * 1024))):
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _edit(arguments: dict[str, Any], context: ToolContext) -> str:
    raw_path: str = arguments["path"]
    path = resolve_path(raw_path, context)
    if path.is_dir():
        raise ToolError(f"{raw_path!r} is a directory, not a file")
    if check_regular(path, raw_path, "file_edit") is None:
        raise ToolError(f"file {raw_path!r} does not exist; use file_write to create it")
    fd = open_regular(path, raw_path, "file_edit", os.O_RDWR)
    try:
        refuse_hard_links(fd, raw_path, "file_edit")
        size = os.fstat(fd).st_size
        if size > MAX_EDIT_BYTES:
            raise ToolError(
                f"{raw_path!r} is {size:,} bytes; file_edit changes files up to "
                f"{MAX_EDIT_BYTES:,} bytes (use bash, e.g. sed, for bigger ones)"
            )
        data = _read_all(fd, MAX_EDIT_BYTES)
        if len(data) > MAX_EDIT_BYTES:
            raise ToolError(f"{raw_path!r} grew past {MAX_EDIT_BYTES:,} bytes while being read")
        if looks_binary(data[:SNIFF_BYTES]):
            raise ToolError(f"{raw_path!r} is a binary file; file_edit only edits text files")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ToolError(
                f"{raw_path!r} is not valid UTF-8 (byte {error.start}); file_edit will not "
                "rewrite it"
            ) from error
        name = display_path(path, context)
        updated, count = edit_text(
            text,
            arguments["old_string"],
            arguments["new_string"],
            bool(arguments.get("replace_all", False)),
            name,
        )
        encoded = updated.encode("utf-8")
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            write_all(fd, encoded)
            os.ftruncate(fd, len(encoded))
        except OSError as error:
            raise ToolError(f"could not write {raw_path!r}: {error.strerror or error}") from error
    finally:
        os.close(fd)
    return f"Replaced {count} occurrences in {name}" if count > 1 else f"Edited {name}"


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Apply the edit described by ``arguments`` to its file."""
    message = await asyncio.to_thread(_edit, arguments, context)
    return ToolResult(ok=True, output=message)


TOOL = Tool(spec=SPEC, read_only=False, run=run)
