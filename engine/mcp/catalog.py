"""A server's tool listing turned into the tools the model is offered.

For each tool the server lists: the server's ``allow`` / ``deny`` lists
(``fnmatch`` patterns on the server's own tool names) decide whether it is
offered at all; its name becomes ``mcp__<server>__<tool>``; its input schema
must be a JSON-schema object that ``jsonschema`` accepts. A tool that fails a
check is skipped with a warning and the others are kept, so one bad tool never
costs the whole server. Arguments the model sends are checked against the
schema (``jsonschema``, the SDK's own dependency) before the call is sent, so
the model gets a precise message naming the offending argument.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ikigai.engine.mcp.names import MAX_NAME_LENGTH, tool_name
from ikigai.providers.request import ToolSpec

if TYPE_CHECKING:
    import mcp_types
    from jsonschema.protocols import Validator

MAX_DESCRIPTION = 8192
"""Characters of a tool's description sent to the model (every request carries it)."""
MAX_ARGUMENT_PROBLEMS = 5


@dataclass(frozen=True, slots=True)
class McpTool:
    """One offered tool: its model-facing spec, where it lives, and its argument check."""

    spec: ToolSpec
    server: str
    tool: str
    """The server's own name for the tool (what ``tools/call`` sends)."""
    validator: Validator

    @property
    def name(self) -> str:
        return self.spec.name

    def argument_problems(self, arguments: dict[str, Any]) -> list[str]:
        """How ``arguments`` break the tool's input schema (empty when they conform)."""
        errors = sorted(self.validator.iter_errors(arguments), key=lambda e: list(e.path))
        problems = []
        for error in errors[:MAX_ARGUMENT_PROBLEMS]:
            where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.path)
            problems.append(f"arguments{where}: {error.message}")
        if len(errors) > MAX_ARGUMENT_PROBLEMS:
            problems.append(f"and {len(errors) - MAX_ARGUMENT_PROBLEMS} more")
        return problems


@dataclass(slots=True)
class Catalog:
    """What one server offers: tools, the names it hides, and what was wrong."""

    tools: list[McpTool] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    """Tools left out by the server's ``allow`` / ``deny`` lists."""
    warnings: list[str] = field(default_factory=list)


def build_catalog(
    server: str,
    listed: Sequence[mcp_types.Tool],
    allow: Iterable[str] | None,
    deny: Iterable[str],
) -> Catalog:
    """The tools of ``server`` to offer, from its ``tools/list`` answer."""
    allow_patterns = list(allow) if allow is not None else None
    deny_patterns = list(deny)
    catalog = Catalog()
    seen: set[str] = set()
    for tool in listed:
        if not _wanted(tool.name, allow_patterns, deny_patterns):
            catalog.hidden.append(tool.name)
            continue
        name = tool_name(server, tool.name)
        problem = _schema_problem(tool.input_schema)
        if len(name) > MAX_NAME_LENGTH:
            problem = f"its name {name!r} is longer than {MAX_NAME_LENGTH} characters"
        elif name in seen:
            problem = f"{name!r} is already the name of another of its tools"
        if problem is not None:
            catalog.warnings.append(f"MCP server {server}: tool {tool.name!r} skipped: {problem}")
            continue
        seen.add(name)
        description = tool.description or tool.title or f"Tool {tool.name} of MCP server {server}."
        if len(description) > MAX_DESCRIPTION:
            description = description[:MAX_DESCRIPTION] + " [description cut]"
        catalog.tools.append(
            McpTool(
                spec=ToolSpec(name, description, dict(tool.input_schema)),
                server=server,
                tool=tool.name,
                validator=_validator(tool.input_schema),
            )
        )
    listed_names = [tool.name for tool in listed]
    for pattern in allow_patterns or ():
        if not any(fnmatch.fnmatchcase(name, pattern) for name in listed_names):
            catalog.warnings.append(
                f"MCP server {server}: allow entry {pattern!r} matches none of its tools"
            )
    return catalog


def _wanted(name: str, allow: list[str] | None, deny: list[str]) -> bool:
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in deny):
        return False
    return allow is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in allow)


def _schema_problem(schema: object) -> str | None:
    """Why ``schema`` cannot be offered as a tool's parameters, or ``None``."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    if not isinstance(schema, dict):
        return "its input schema is not a JSON object"
    if schema.get("type") != "object":
        return f"its input schema must have type 'object', not {schema.get('type')!r}"
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return f"its input schema is invalid: {exc.message}"
    return None


def _validator(schema: dict[str, Any]) -> Validator:
    from jsonschema.validators import validator_for
    from referencing import Registry

    # An empty registry: a $ref resolves within the schema, never over the network.
    return validator_for(schema)(schema, registry=Registry())
