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
    "ALL_TOOLS": "ikigai.engine.tools.policy",
    "BUILTIN_SPECS": "ikigai.engine.tools.specs",
    "BUILTIN_TOOLS": "ikigai.engine.tools.registry",
    "BUILTIN_TOOL_NAMES": "ikigai.engine.tools.specs",
    "DEFAULT_BASH_TIMEOUT": "ikigai.engine.tools.base",
    "DEFAULT_ENV_ALLOW": "ikigai.engine.tools.base",
    "DEFAULT_OUTPUT_CAP": "ikigai.engine.tools.base",
    "DEFAULT_SECRET_PATTERNS": "ikigai.engine.tools.base",
    "DEFAULT_TOOL_TIMEOUT": "ikigai.engine.tools.base",
    "DEFAULT_PERMISSIONS": "ikigai.engine.tools.policy",
    "PROVIDER_KEY_VARIABLES": "ikigai.engine.tools.environment",
    "Permission": "ikigai.engine.tools.policy",
    "PolicyError": "ikigai.engine.tools.policy",
    "READ_ONLY_TOOLS": "ikigai.engine.tools.specs",
    "Tool": "ikigai.engine.tools.base",
    "ToolContext": "ikigai.engine.tools.base",
    "ToolError": "ikigai.engine.tools.base",
    "ToolPolicy": "ikigai.engine.tools.policy",
    "ToolRegistry": "ikigai.engine.tools.registry",
    "ToolResult": "ikigai.engine.tools.base",
    "default_registry": "ikigai.engine.tools.registry",
    "denied_result": "ikigai.engine.tools.policy",
    "execute": "ikigai.engine.tools.registry",
    "parse_allow": "ikigai.engine.tools.policy",
    "parse_policy": "ikigai.engine.tools.policy",
    "plan_batches": "ikigai.engine.tools.planner",
    "resolve_headless": "ikigai.engine.tools.policy",
    "scrub_env": "ikigai.engine.tools.environment",
    "subprocess_env": "ikigai.engine.tools.environment",
    "withheld_names": "ikigai.engine.tools.environment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ikigai.engine.tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
