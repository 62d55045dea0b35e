"""Keeping file tools inside the working directory and the extra roots.

A path is resolved relative to the working directory with every symlink
followed; the result must lie inside one of the (equally resolved) roots.
Checking the fully resolved path is what defeats both ``..`` escapes and
symlinks pointing elsewhere; checking the lexical path as well lets the error
say which of the two happened.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ikigai.engine.tools.base import ToolContext, ToolError


def is_within(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies below one of them (no I/O)."""
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_path(raw: str, context: ToolContext) -> Path:
    """Resolve ``raw`` for a file tool, or raise ``ToolError`` if it leaves the roots.

    The returned path is absolute with symlinks resolved; it need not exist
    (``file_write`` creates files).
    """
    if not raw.strip():
        raise ToolError("path must not be empty")
    if "\x00" in raw:
        raise ToolError("path must not contain NUL characters")
    roots = context.roots()
    cwd = Path(os.path.realpath(context.cwd))
    expanded = Path(os.path.expanduser(raw))
    lexical = Path(os.path.normpath(cwd / expanded))
    resolved = Path(os.path.realpath(lexical))
    if is_within(resolved, roots):
        return resolved
    allowed = ", ".join(str(root) for root in roots)
    if not is_within(lexical, roots):
        raise ToolError(
            f"path {raw!r} resolves to {lexical}, which is outside the allowed "
            f"directories ({allowed}); file tools only work inside them"
        )
    raise ToolError(
        f"path {raw!r} goes through a symlink whose target {resolved} is outside the "
        f"allowed directories ({allowed}); file tools only work inside them"
    )


def display_path(path: Path, context: ToolContext) -> str:
    """``path`` relative to the working directory when inside it, else absolute."""
    cwd = Path(os.path.realpath(context.cwd))
    if path.is_relative_to(cwd):
        relative = path.relative_to(cwd)
        return str(relative) if relative.parts else "."
    return str(path)
