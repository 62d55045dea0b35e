"""Built-in tools the model can call, with their policy, confinement and planner.

The agent loop needs only what is re-exported here:

- ``BUILTIN_SPECS`` (or ``default_registry().specs()``) for ``Request.tools``;
- ``execute(name, raw_arguments, context)`` to run a call (never raises);
- ``parse_policy`` / ``resolve_headless`` / ``parse_allow`` / ``denied_result``
  to decide and report permission;
- ``plan_batches`` to run independent calls of one response concurrently.

Names resolve on first use (PEP 562): importing ``tui.tools.specs`` or
``tui.tools.policy`` for a request does not import the tool implementations.
"""

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "ALL_TOOLS": "tui.tools.policy",
    "BUILTIN_SPECS": "tui.tools.specs",
    "BUILTIN_TOOLS": "tui.tools.registry",
    "BUILTIN_TOOL_NAMES": "tui.tools.specs",
    "DEFAULT_BASH_TIMEOUT": "tui.tools.base",
    "DEFAULT_OUTPUT_CAP": "tui.tools.base",
    "DEFAULT_PERMISSIONS": "tui.tools.policy",
    "PROVIDER_KEY_VARIABLES": "tui.tools.environment",
    "Permission": "tui.tools.policy",
    "PolicyError": "tui.tools.policy",
    "READ_ONLY_TOOLS": "tui.tools.specs",
    "Tool": "tui.tools.base",
    "ToolContext": "tui.tools.base",
    "ToolError": "tui.tools.base",
    "ToolPolicy": "tui.tools.policy",
    "ToolRegistry": "tui.tools.registry",
    "ToolResult": "tui.tools.base",
    "default_registry": "tui.tools.registry",
    "denied_result": "tui.tools.policy",
    "execute": "tui.tools.registry",
    "parse_allow": "tui.tools.policy",
    "parse_policy": "tui.tools.policy",
    "plan_batches": "tui.tools.planner",
    "resolve_headless": "tui.tools.policy",
    "scrub_env": "tui.tools.environment",
    "subprocess_env": "tui.tools.environment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tui.tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
