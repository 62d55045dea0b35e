"""The ``file_write`` tool: create or overwrite a file with given content.

Missing parent directories are created; they are necessarily inside the
roots, because the resolved target is checked before anything is made. The
target must be a regular file with no other hard link (another name for it
may be outside the roots); a FIFO, device or socket is refused without
blocking. The file is opened without truncation, checked on the open
descriptor, and only then truncated and written, so a refused file is left
as it was.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.regular import check_regular, open_regular, refuse_hard_links
from ikigai.engine.tools.specs import FILE_WRITE as SPEC


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write(raw_path: str, content: str, context: ToolContext) -> str:
    path = resolve_path(raw_path, context)
    if path.is_dir():
        raise ToolError(f"{raw_path!r} is a directory, not a file")
    existed = check_regular(path, raw_path, "file_write") is not None
    data = content.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ToolError(f"could not write {raw_path!r}: {error.strerror or error}") from error
    fd = open_regular(path, raw_path, "file_write", os.O_WRONLY | os.O_CREAT)
    try:
        refuse_hard_links(fd, raw_path, "file_write")
        os.ftruncate(fd, 0)
        write_all(fd, data)
    except OSError as error:
        raise ToolError(f"could not write {raw_path!r}: {error.strerror or error}") from error
    finally:
        os.close(fd)
    verb = "Overwrote" if existed else "Created"
    return f"{verb} {display_path(path, context)} ({len(data):,} bytes)"


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Write ``arguments['content']`` to ``arguments['path']``."""
    message = await asyncio.to_thread(_write, arguments["path"], arguments["content"], context)
    return ToolResult(ok=True, output=message)


TOOL = Tool(spec=SPEC, read_only=False, run=run)
