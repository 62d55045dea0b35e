"""The ``file_write`` tool: create or overwrite a file with given content.

Missing parent directories are created; they are necessarily inside the
roots, because the resolved target is checked before anything is made.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.specs import FILE_WRITE as SPEC


def _write(raw_path: str, content: str, context: ToolContext) -> str:
    path = resolve_path(raw_path, context)
    if path.is_dir():
        raise ToolError(f"{raw_path!r} is a directory, not a file")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(content)
    except OSError as error:
        raise ToolError(f"could not write {raw_path!r}: {error.strerror or error}") from error
    size = len(content.encode("utf-8"))
    verb = "Overwrote" if existed else "Created"
    return f"{verb} {display_path(path, context)} ({size:,} bytes)"


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Write ``arguments['content']`` to ``arguments['path']``."""
    message = await asyncio.to_thread(_write, arguments["path"], arguments["content"], context)
    return ToolResult(ok=True, output=message)


TOOL = Tool(spec=SPEC, read_only=False, run=run)
