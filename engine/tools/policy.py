"""Tool permissions: ``allow``, ``ask`` or ``deny`` per tool.

Read-only tools are allowed by default; tools that change files or run
commands ask. ``parse_policy`` reads the config's ``[tools]`` table and raises
``PolicyError`` (a ``ValueError``) listing *every* problem at once, so a user
fixes their config in one go. Headless runs have nobody to ask:
``resolve_headless`` turns each ``ask`` into ``allow`` when the tool was named
with ``--allow`` and into ``deny`` otherwise; ``deny`` always stays ``deny``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

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


class PolicyError(ValueError):
    """The ``[tools]`` config or an ``--allow`` value is invalid; the message lists why."""


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """Permissions by tool name. Tools it does not know are denied."""

    permissions: Mapping[str, Permission] = field(default_factory=lambda: DEFAULT_PERMISSIONS)

    def permission(self, name: str) -> Permission:
        """The permission for tool ``name`` (``deny`` for a name it does not know)."""
        return self.permissions.get(name, Permission.DENY)


def parse_policy(
    config: Mapping[str, object], known_tools: Iterable[str] = BUILTIN_TOOL_NAMES
) -> ToolPolicy:
    """Build a policy from a ``[tools]`` mapping layered over the defaults.

    Values are ``allow``, ``ask`` or ``deny`` (case and surrounding spaces
    ignored). Raises ``PolicyError`` naming every unknown tool and bad value.
    """
    known = frozenset(known_tools)
    permissions = {name: DEFAULT_PERMISSIONS.get(name, Permission.ASK) for name in known}
    choices = ", ".join(permission.value for permission in Permission)
    problems: list[str] = []
    for name, value in config.items():
        if name not in known:
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
        raise PolicyError("invalid tool policy:\n  " + "\n  ".join(problems))
    return ToolPolicy(MappingProxyType(permissions))


def parse_allow(
    values: str | Iterable[str], known_tools: Iterable[str] = BUILTIN_TOOL_NAMES
) -> frozenset[str]:
    """Parse ``--allow`` values (``TOOL[,TOOL]`` or ``all``, possibly repeated).

    Returns the allowed tool names (``all`` expands to every known tool).
    Raises ``PolicyError`` for unknown names or an empty list.
    """
    known = frozenset(known_tools)
    items = [values] if isinstance(values, str) else list(values)
    names = {part.strip() for item in items for part in item.split(",") if part.strip()}
    if not names:
        raise PolicyError("--allow needs a tool name, a comma-separated list, or 'all'")
    if ALL_TOOLS in names:
        return known
    unknown = sorted(names - known)
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
    configured ``deny``).
    """
    allowed_names = frozenset(allowed)
    resolved = {
        name: (
            (Permission.ALLOW if name in allowed_names else Permission.DENY)
            if permission is Permission.ASK
            else permission
        )
        for name, permission in policy.permissions.items()
    }
    return ToolPolicy(MappingProxyType(resolved))


def denied_result(name: str, reason: str | None = None) -> ToolResult:
    """The result fed back to the model when the user (or policy) refused a call."""
    message = f"The user denied permission to run {name}."
    if reason:
        message += f" Reason: {reason.strip()}"
    message += " Do not retry the same call; continue without it or ask the user."
    return ToolResult(ok=False, output=message)
