"""Tool permissions: ``allow``, ``ask`` or ``deny`` per tool.

Read-only tools are allowed by default; tools that change files or run
commands ask. ``parse_policy`` reads the config's ``[tools]`` table and raises
``PolicyError`` (a ``ValueError``) listing *every* problem at once, so a user
fixes their config in one go. Headless runs have nobody to ask:
``resolve_headless`` turns each ``ask`` into ``allow`` when the tool was named
with ``--allow`` and into ``deny`` otherwise; ``deny`` always stays ``deny``.

MCP tools (``mcp__<server>__<tool>``) are governed by the same table: a key
names one tool or, as ``mcp__<server>__*``, every tool of a server; the exact
name wins over the wildcard, and an MCP tool named by neither asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from ikigai.engine.mcp.names import is_mcp_name, server_wildcard, split_name
from ikigai.engine.tools.base import ToolResult
from ikigai.engine.tools.specs import BUILTIN_TOOL_NAMES


class Permission(StrEnum):
    """What happens when the model calls a tool."""

    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


DEFAULT_PERMISSIONS: Mapping[str, Permission] = MappingProxyType(
    {
        "file_read": Permission.ALLOW,
        "glob": Permission.ALLOW,
        "grep": Permission.ALLOW,
        "file_write": Permission.ASK,
        "file_edit": Permission.ASK,
        "bash": Permission.ASK,
    }
)

ALL_TOOLS = "all"
"""The ``--allow`` value that allows every tool."""

ALL_MCP_TOOLS = "mcp__*"
"""What ``--allow all`` adds to the allowed names: every MCP tool."""


class PolicyError(ValueError):
    """The ``[tools]`` config or an ``--allow`` value is invalid; the message lists why."""


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """Permissions by tool name. Tools it does not know are denied, MCP tools excepted:
    they get their ``mcp__<server>__*`` entry, else ``mcp_default``."""

    permissions: Mapping[str, Permission] = field(default_factory=lambda: DEFAULT_PERMISSIONS)
    mcp_default: Permission = Permission.ASK

    def permission(self, name: str) -> Permission:
        """The permission for tool ``name`` (``deny`` for a name it does not know)."""
        found = self.permissions.get(name)
        if found is not None:
            return found
        parts = split_name(name)
        if parts is None:
            return Permission.DENY
        return self.permissions.get(server_wildcard(parts[0]), self.mcp_default)


def _mcp_key_problem(name: str, servers: frozenset[str]) -> str | None:
    """Why ``name`` cannot be an MCP key of ``[tools]`` or ``--allow``, or ``None``."""
    parts = split_name(name)
    if parts is None:
        return "expected mcp__<server>__<tool> or mcp__<server>__*"
    if parts[0] not in servers:
        known = ", ".join(sorted(servers)) or "none configured"
        return f"unknown MCP server {parts[0]!r} (servers: {known})"
    return None


def parse_policy(
    config: Mapping[str, object],
    known_tools: Iterable[str] = BUILTIN_TOOL_NAMES,
    mcp_servers: Iterable[str] = (),
) -> ToolPolicy:
    """Build a policy from a ``[tools]`` mapping layered over the defaults.

    Values are ``allow``, ``ask`` or ``deny`` (case and surrounding spaces
    ignored). Keys are built-in tools, or ``mcp__<server>__<tool>`` /
    ``mcp__<server>__*`` for a server of ``mcp_servers``. Raises ``PolicyError``
    naming every unknown tool and bad value.
    """
    known = frozenset(known_tools)
    servers = frozenset(mcp_servers)
    permissions = {name: DEFAULT_PERMISSIONS.get(name, Permission.ASK) for name in known}
    choices = ", ".join(permission.value for permission in Permission)
    problems: list[str] = []
    for name, value in config.items():
        if is_mcp_name(name):
            problem = _mcp_key_problem(name, servers)
            if problem is not None:
                problems.append(f"[tools] {name}: {problem}")
                continue
        elif name not in known:
            problems.append(
                f"[tools] {name}: unknown tool (known tools: {', '.join(sorted(known))})"
            )
            continue
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in {permission.value for permission in Permission}:
            problems.append(f"[tools] {name} = {value!r}: expected one of {choices}")
            continue
        permissions[name] = Permission(text)
    if problems:
        raise PolicyError("invalid tool policy: " + "; ".join(problems))
    return ToolPolicy(MappingProxyType(permissions))


def parse_allow(
    values: str | Iterable[str],
    known_tools: Iterable[str] = BUILTIN_TOOL_NAMES,
    mcp_servers: Iterable[str] = (),
) -> frozenset[str]:
    """Parse ``--allow`` values (``TOOL[,TOOL]`` or ``all``, possibly repeated).

    Returns the allowed tool names (``all`` expands to every known tool and,
    when MCP servers are configured, ``mcp__*``: every MCP tool). MCP tools
    are named ``mcp__<server>__<tool>`` or ``mcp__<server>__*`` for a server
    of ``mcp_servers``. Raises ``PolicyError`` for unknown names or an empty
    list.
    """
    known = frozenset(known_tools)
    servers = frozenset(mcp_servers)
    items = [values] if isinstance(values, str) else list(values)
    names = {part.strip() for item in items for part in item.split(",") if part.strip()}
    if not names:
        raise PolicyError("--allow needs a tool name, a comma-separated list, or 'all'")
    if ALL_TOOLS in names:
        return known | {ALL_MCP_TOOLS} if servers else known
    mcp_problems = [
        f"--allow {name}: {problem}"
        for name in sorted(names)
        if is_mcp_name(name) and (problem := _mcp_key_problem(name, servers)) is not None
    ]
    if mcp_problems:
        raise PolicyError("; ".join(mcp_problems))
    unknown = sorted(name for name in names - known if not is_mcp_name(name))
    if unknown:
        raise PolicyError(
            f"--allow: unknown tool(s) {', '.join(unknown)} "
            f"(known tools: {', '.join(sorted(known))}, or 'all')"
        )
    return frozenset(names)


def resolve_headless(policy: ToolPolicy, allowed: Iterable[str] = ()) -> ToolPolicy:
    """The policy for a run with nobody to ask: no ``ask`` left.

    ``ask`` becomes ``allow`` for tools in ``allowed`` and ``deny`` for the
    rest; ``allow`` and ``deny`` are kept (``--allow`` never overrides a
    configured ``deny``). An MCP tool is in ``allowed`` by its name, its
    server's ``mcp__<server>__*`` or ``mcp__*``.
    """
    allowed_names = frozenset(allowed)

    def is_allowed(name: str) -> bool:
        if name in allowed_names:
            return True
        parts = split_name(name)
        return parts is not None and (
            ALL_MCP_TOOLS in allowed_names or server_wildcard(parts[0]) in allowed_names
        )

    def resolve(name: str, permission: Permission) -> Permission:
        if permission is not Permission.ASK:
            return permission
        return Permission.ALLOW if is_allowed(name) else Permission.DENY

    resolved = {name: resolve(name, p) for name, p in policy.permissions.items()}
    for name in allowed_names:
        if split_name(name) is not None and name not in resolved:
            resolved[name] = resolve(name, policy.permission(name))
    mcp_default = policy.mcp_default
    if mcp_default is Permission.ASK:
        mcp_default = Permission.ALLOW if ALL_MCP_TOOLS in allowed_names else Permission.DENY
    return ToolPolicy(MappingProxyType(resolved), mcp_default)


def denied_result(name: str, reason: str | None = None) -> ToolResult:
    """The result fed back to the model when the user (or policy) refused a call."""
    message = f"The user denied permission to run {name}."
    if reason:
        message += f" Reason: {reason.strip()}"
    message += " Do not retry the same call; continue without it or ask the user."
    return ToolResult(ok=False, output=message)
