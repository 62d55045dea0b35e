"""The tool registry and ``execute``: from the model's raw call to a ``ToolResult``.

``execute`` is the single door the agent loop uses. Whatever the model sends —
broken JSON, wrong argument types, a tool that does not exist — and whatever a
tool does — raise an expected ``ToolError``, crash or run past its time limit
(``ToolContext.tool_timeout``; ``bash`` has its own) — the loop gets a
``ToolResult`` back, with a message the model can act on, never an exception.
Only cancellation propagates, so the loop can stop a running tool.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from typing import Any

from ikigai.engine.tools import bash, file_edit, file_read, file_write, glob, grep
from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.schema import validate
from ikigai.providers.request import ToolSpec

BUILTIN_TOOLS: tuple[Tool, ...] = (
    bash.TOOL,
    file_read.TOOL,
    file_write.TOOL,
    file_edit.TOOL,
    glob.TOOL,
    grep.TOOL,
)
"""Every built-in tool, in the order they are offered to the model."""


class ToolRegistry:
    """A set of tools by name: their specs for the request, and how to run a call."""

    def __init__(self, tools: Iterable[Tool] = BUILTIN_TOOLS) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"duplicate tool name {tool.name!r}")
            self._tools[tool.name] = tool

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def specs(self) -> list[ToolSpec]:
        """The specs to put in ``Request.tools``."""
        return [tool.spec for tool in self._tools.values()]

    async def execute(self, name: str, raw_arguments: str, context: ToolContext) -> ToolResult:
        """Parse, check and run one call; every failure becomes ``ToolResult(ok=False)``."""
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self._tools)
            return ToolResult(False, f"Unknown tool {name!r}. Available tools: {known}.")
        arguments = parse_arguments(raw_arguments)
        if isinstance(arguments, ToolResult):
            return arguments
        problems = validate(arguments, tool.spec.parameters)
        if problems:
            listed = "; ".join(problems)
            return ToolResult(False, f"Invalid arguments for {name}: {listed}.")
        try:
            if tool.own_timeout:
                return await tool.run(arguments, context)
            return await _run_bounded(tool, arguments, context)
        except ToolError as error:
            return ToolResult(False, f"{name}: {error}")
        except Exception as error:  # a bug in a tool must not take the session down
            return ToolResult(False, f"{name} failed unexpectedly: {type(error).__name__}: {error}")


async def _run_bounded(tool: Tool, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Run ``tool`` for at most ``context.tool_timeout`` seconds.

    The timeout cancels the tool's task; the worker-thread tools stop at their
    next check of the stop flag (``blocking.py``).
    """
    limit = context.tool_timeout
    scope = asyncio.timeout(limit)
    try:
        async with scope:
            return await tool.run(arguments, context)
    except TimeoutError:
        if not scope.expired():
            raise
    return ToolResult(
        False,
        f"{tool.name}: stopped after {limit:g} s, the time limit for one call; "
        "narrow the path, pattern or range and try again",
    )


def parse_arguments(raw_arguments: str) -> dict[str, Any] | ToolResult:
    """The call's arguments as a dict, or an error result explaining what is wrong.

    Empty text means no arguments (some providers send ``""`` for a call
    without parameters).
    """
    if not raw_arguments.strip():
        return {}
    try:
        arguments = json.loads(raw_arguments)
    except json.JSONDecodeError as error:
        return ToolResult(
            False,
            f"Arguments are not valid JSON ({error.msg} at line {error.lineno} column "
            f"{error.colno}); send a single JSON object.",
        )
    if not isinstance(arguments, dict):
        return ToolResult(
            False, f"Arguments must be a JSON object, got {type(arguments).__name__}."
        )
    return arguments


_DEFAULT_REGISTRY = ToolRegistry()


def default_registry() -> ToolRegistry:
    """The registry of built-in tools."""
    return _DEFAULT_REGISTRY


async def execute(
    name: str,
    raw_arguments: str,
    context: ToolContext,
    registry: ToolRegistry | None = None,
) -> ToolResult:
    """Run tool ``name`` with the JSON text ``raw_arguments`` the model sent.

    Never raises except on cancellation; see ``ToolRegistry.execute``.
    """
    return await (registry or _DEFAULT_REGISTRY).execute(name, raw_arguments, context)
