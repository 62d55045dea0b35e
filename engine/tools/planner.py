"""Grouping one response's tool calls into batches that may run concurrently.

Rules: read-only calls run together; a call that writes a path may share a
batch only with calls that touch none of its paths (the same file, or a
directory containing it, as for a ``grep`` over that directory); ``bash``,
unknown tools and writes whose path cannot be determined run alone. Batches
are cut greedily in the model's order, so running the batches one after
another never reorders two calls that conflict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ikigai.engine.tools.registry import ToolRegistry, default_registry

_SEARCH_TOOLS_DEFAULT_PATH = "."


@dataclass(frozen=True, slots=True)
class _Footprint:
    """What one call touches: ``None`` paths means "everything" (runs alone)."""

    paths: frozenset[Path] | None
    writes: bool


def _resolve(raw: str, cwd: Path) -> Path:
    return Path(os.path.realpath(Path(cwd, os.path.expanduser(raw))))


def _footprint(
    name: str, arguments: Mapping[str, Any], cwd: Path, registry: ToolRegistry
) -> _Footprint:
    tool = registry.get(name)
    if tool is None:
        return _Footprint(paths=None, writes=True)
    raw = arguments.get("path") if isinstance(arguments, Mapping) else None
    if tool.read_only:
        target = raw if isinstance(raw, str) and raw else _SEARCH_TOOLS_DEFAULT_PATH
        return _Footprint(paths=frozenset({_resolve(target, cwd)}), writes=False)
    if isinstance(raw, str) and raw:
        return _Footprint(paths=frozenset({_resolve(raw, cwd)}), writes=True)
    return _Footprint(paths=None, writes=True)  # bash, or a write we cannot place


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def _conflict(a: _Footprint, b: _Footprint) -> bool:
    if a.paths is None or b.paths is None:
        return True
    if not (a.writes or b.writes):
        return False
    return any(_overlap(x, y) for x in a.paths for y in b.paths)


def plan_batches(
    calls: Sequence[tuple[str, Mapping[str, Any]]],
    cwd: Path,
    registry: ToolRegistry | None = None,
) -> list[list[int]]:
    """Split ``calls`` (name, parsed arguments) into batches of indices into ``calls``.

    Calls within a batch may run concurrently; batches must run one after
    another in the returned order. Paths are resolved against ``cwd``.
    """
    tools = registry or default_registry()
    batches: list[list[int]] = []
    current: list[tuple[int, _Footprint]] = []
    for index, (name, arguments) in enumerate(calls):
        footprint = _footprint(name, arguments, cwd, tools)
        if current and any(_conflict(footprint, other) for _, other in current):
            batches.append([i for i, _ in current])
            current = []
        current.append((index, footprint))
    if current:
        batches.append([i for i, _ in current])
    return batches
