"""Built-in tools the model can call, with their policy, confinement and planner.

The agent loop needs only what is re-exported here:

- ``default_registry().specs()`` for ``Request.tools``;
- ``execute(name, raw_arguments, context)`` to run a call (never raises);
- ``parse_policy`` / ``resolve_headless`` / ``parse_allow`` / ``denied_result``
  to decide and report permission;
- ``plan_batches`` to run independent calls of one response concurrently.
"""

from tui.tools.base import (
    DEFAULT_BASH_TIMEOUT,
    DEFAULT_OUTPUT_CAP,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)
from tui.tools.environment import PROVIDER_KEY_VARIABLES, scrub_env, subprocess_env
from tui.tools.planner import plan_batches
from tui.tools.policy import (
    ALL_TOOLS,
    DEFAULT_PERMISSIONS,
    Permission,
    PolicyError,
    ToolPolicy,
    denied_result,
    parse_allow,
    parse_policy,
    resolve_headless,
)
from tui.tools.registry import (
    BUILTIN_TOOL_NAMES,
    BUILTIN_TOOLS,
    ToolRegistry,
    default_registry,
    execute,
)

__all__ = [
    "ALL_TOOLS",
    "BUILTIN_TOOLS",
    "BUILTIN_TOOL_NAMES",
    "DEFAULT_BASH_TIMEOUT",
    "DEFAULT_OUTPUT_CAP",
    "DEFAULT_PERMISSIONS",
    "PROVIDER_KEY_VARIABLES",
    "Permission",
    "PolicyError",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolPolicy",
    "ToolRegistry",
    "ToolResult",
    "default_registry",
    "denied_result",
    "execute",
    "parse_allow",
    "parse_policy",
    "plan_batches",
    "resolve_headless",
    "scrub_env",
    "subprocess_env",
]
