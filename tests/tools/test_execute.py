"""execute(): every bad input becomes ToolResult(ok=False) with a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from ikigai.engine.tools import (
    Tool,
    ToolContext,
    ToolRegistry,
    ToolResult,
    default_registry,
    execute,
)
from ikigai.providers.request import ToolSpec


async def test_invalid_json(context: ToolContext) -> None:
    result = await execute("file_read", '{"path": "a.txt"', context)
    assert not result.ok
    assert "not valid JSON" in result.output


async def test_arguments_must_be_an_object(context: ToolContext) -> None:
    result = await execute("file_read", '["a.txt"]', context)
    assert not result.ok
    assert "must be a JSON object, got list" in result.output


async def test_missing_required_argument(context: ToolContext) -> None:
    result = await execute("file_write", '{"path": "a.txt"}', context)
    assert not result.ok
    assert result.output == (
        "Invalid arguments for file_write: arguments.content is required but missing."
    )


async def test_empty_arguments_mean_no_arguments(context: ToolContext) -> None:
    result = await execute("bash", "", context)
    assert not result.ok
    assert "arguments.command is required" in result.output


async def test_wrong_type(context: ToolContext) -> None:
    result = await execute("file_read", '{"path": "a.txt", "limit": "ten"}', context)
    assert not result.ok
    assert "arguments.limit must be an integer, got a string" in result.output


async def test_unknown_property(context: ToolContext) -> None:
    result = await execute("bash", '{"command": "true", "cwd": "/"}', context)
    assert not result.ok
    assert "arguments.cwd is not a known argument (allowed: command, timeout)" in result.output


async def test_below_minimum(context: ToolContext) -> None:
    result = await execute("file_read", '{"path": "a.txt", "offset": 0}', context)
    assert not result.ok
    assert "arguments.offset must be at least 1" in result.output


async def test_unknown_tool(context: ToolContext) -> None:
    result = await execute("rm_rf", "{}", context)
    assert not result.ok
    assert "Unknown tool 'rm_rf'" in result.output
    assert "file_read" in result.output


def _tool(name: str, run: Any) -> Tool:
    spec = ToolSpec(name, "test tool", {"type": "object", "additionalProperties": False})
    return Tool(spec=spec, read_only=True, run=run)


async def test_a_tool_that_raises(context: ToolContext) -> None:
    async def explode(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        raise RuntimeError("kaboom")

    registry = ToolRegistry([_tool("explode", explode)])
    result = await execute("explode", "{}", context, registry)
    assert not result.ok
    assert result.output == "explode failed unexpectedly: RuntimeError: kaboom"


def test_registry_rejects_duplicate_names() -> None:
    async def noop(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        return ToolResult(True, "")

    with pytest.raises(ValueError, match="duplicate tool name 'x'"):
        ToolRegistry([_tool("x", noop), _tool("x", noop)])


def test_builtin_specs_are_offered() -> None:
    registry = default_registry()
    names = [spec.name for spec in registry.specs()]
    assert names == ["bash", "file_read", "file_write", "file_edit", "glob", "grep"]
    read_only = {tool.name for tool in registry if tool.read_only}
    assert read_only == {"file_read", "glob", "grep"}
    for spec in registry.specs():
        assert spec.parameters["type"] == "object"
        assert spec.parameters["additionalProperties"] is False
        assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])
