"""The ``glob`` tool: find files by name pattern, most recently modified first.

Newest-first ordering puts the files someone is working on at the top, which
is usually what the model is looking for. Only regular files are listed (a
FIFO is never opened, only ``stat``-ed); the walk runs in a worker thread
that a cancelled turn or the call's time limit stops.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.blocking import StopFlag, run_stoppable
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.output import cap_output
from ikigai.engine.tools.specs import GLOB as SPEC
from ikigai.engine.tools.specs import MAX_RESULTS
from ikigai.engine.tools.walk import glob_regex, walk_files


def _check_pattern(pattern: str) -> None:
    if not pattern:
        raise ToolError("pattern must not be empty")
    if pattern.startswith("/"):
        raise ToolError("pattern must be relative; pass the directory to search as path instead")
    if ".." in pattern.split("/"):
        raise ToolError("pattern must not contain '..'; pass the directory to search as path")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _glob(stop: StopFlag, pattern: str, raw_path: str, context: ToolContext) -> str:
    _check_pattern(pattern)
    base = resolve_path(raw_path, context)
    if not base.is_dir():
        raise ToolError(f"path {raw_path!r} is not a directory")
    regex = glob_regex(pattern)
    matches = [
        path
        for path in walk_files(base, context.roots(), stop)
        if regex.match(path.relative_to(base).as_posix())
    ]
    if not matches:
        return f"No files match {pattern!r} in {display_path(base, context)}"
    matches.sort(key=lambda path: (-_mtime(path), str(path)))
    lines = [display_path(path, context) for path in matches[:MAX_RESULTS]]
    if len(matches) > MAX_RESULTS:
        lines.append(
            f"[{len(matches) - MAX_RESULTS:,} more files not shown; use a narrower pattern]"
        )
    return "\n".join(lines)


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """List files matching ``arguments['pattern']`` under ``arguments.get('path')``."""
    text = await run_stoppable(_glob, arguments["pattern"], arguments.get("path", "."), context)
    return ToolResult(ok=True, output=cap_output(text, context.output_cap))


TOOL = Tool(spec=SPEC, read_only=True, run=run)
