"""What ``/mcp`` shows: each MCP server's state, its tools and their permissions.

Server names, tool names and errors come from the config and the servers: the
scrollback note that shows this text neutralizes control characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.engine.mcp.manager import ServerStatus

NO_SERVERS = (
    "no MCP servers configured: add [mcp.servers.<name>] to the config "
    "(command = ... for stdio, url = ... for HTTP); F1 explains"
)


def describe_servers(servers: Sequence[ServerStatus]) -> str:
    """One line per server, under a heading; a hint when none is configured."""
    if not servers:
        return NO_SERVERS
    return "\n".join(["MCP servers:", *(f"  {describe_server(s)}" for s in servers)])


def describe_server(server: ServerStatus) -> str:
    """``demo (stdio) · ready · 2 tools: echo ask, add allow · hidden: secret``."""
    parts = [f"{server.name} ({server.transport})"]
    if server.state == "failed":
        parts.append(f"failed: {server.error}")
    else:
        parts.append(server.state)
    if server.state == "ready":
        count = len(server.tools)
        listed = ", ".join(f"{tool.tool} {tool.permission}" for tool in server.tools)
        parts.append(f"{count} tool{'' if count == 1 else 's'}" + (f": {listed}" if listed else ""))
        if server.hidden:
            parts.append(f"hidden by allow/deny: {', '.join(server.hidden)}")
    if server.restarts:
        parts.append(f"restarted {server.restarts}×")
    return " · ".join(parts)
