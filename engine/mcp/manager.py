"""Every configured MCP server of a session: start, calls, one restart, status, shutdown.

A session has one ``McpManager`` (the conversation's tool loop owns it). Servers
start when a turn first needs the tools (every enabled server, in parallel), or
right away in the background for ``startup = "eager"``; they stay up for the
session and are shut down by ``close``. A server that cannot start is marked
failed with its error and the others go on. A server that dies while running
(its connection closes) is restarted once, with a notice; if it dies again it is
marked failed and its tools are no longer offered.

``call`` never raises (cancellation aside): an unknown or hidden tool, bad
arguments, a tool error, a timeout or a crash all become error results the
model reads. Server-sent text (tool names, descriptions, errors) is data: the
front ends neutralize what they show.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ikigai.engine.events import Notice, NoticeLevel
from ikigai.engine.mcp.launch import LaunchError, prepare
from ikigai.engine.mcp.names import split_name
from ikigai.engine.tools.base import ToolResult

if TYPE_CHECKING:
    from ikigai.engine.mcp.catalog import Catalog, McpTool
    from ikigai.engine.mcp.connection import ServerConnection
    from ikigai.engine.settings import McpServerSettings, McpSettings
    from ikigai.providers.request import ToolSpec

ServerState = Literal["disabled", "not started", "starting", "ready", "failed"]
MAX_RESTARTS = 1


@dataclass(frozen=True, slots=True)
class ToolStatus:
    """One offered tool: the server's name for it, the model's, and its permission."""

    tool: str
    name: str
    permission: str
    """``allow``, ``ask`` or ``deny`` (``[tools]``, or "always" answered this session)."""


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """What ``/mcp`` shows about one server."""

    name: str
    transport: Literal["stdio", "http"]
    state: ServerState
    error: str | None = None
    tools: tuple[ToolStatus, ...] = ()
    """The tools offered to the model."""
    hidden: tuple[str, ...] = ()
    """Tools its ``allow`` / ``deny`` lists leave out."""
    restarts: int = 0


@dataclass(slots=True)
class _Server:
    name: str
    settings: McpServerSettings
    state: ServerState = "not started"
    error: str | None = None
    connection: ServerConnection | None = None
    catalog: Catalog | None = None
    restarts: int = 0
    task: asyncio.Task[bool] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    warned: set[str] = field(default_factory=set)

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "http" if self.settings.url is not None else "stdio"


class McpManager:
    """The MCP servers of one session and the tools they offer."""

    def __init__(
        self,
        settings: McpSettings,
        *,
        cwd: Path,
        secret_names: Iterable[str],
        notify: Callable[[Notice], None],
        output_cap: int,
    ) -> None:
        self._servers = {
            name: _Server(name, server, "not started" if server.enabled else "disabled")
            for name, server in settings.servers.items()
        }
        self._cwd = cwd
        self._secret_names = frozenset(secret_names)
        self._notify = notify
        self._output_cap = output_cap
        self._tools: dict[str, McpTool] = {}
        self._closed = False

    @property
    def servers(self) -> tuple[str, ...]:
        """Every configured server's name, enabled or not."""
        return tuple(self._servers)

    # -- starting -------------------------------------------------------------------------

    def start_eager(self) -> None:
        """Start the ``startup = "eager"`` servers in the background (returns at once)."""
        for server in self._servers.values():
            if server.settings.startup == "eager":
                self._begin(server)

    async def ensure_started(self) -> None:
        """Start every enabled server not started yet, in parallel, and wait for all starts."""
        for server in self._servers.values():
            self._begin(server)
        starting = [s.task for s in self._servers.values() if s.task is not None]
        if starting:
            await asyncio.gather(*(asyncio.shield(task) for task in starting))

    def _begin(self, server: _Server) -> None:
        if server.state == "not started" and not self._closed:
            server.state = "starting"
            server.task = asyncio.get_running_loop().create_task(self._start(server))

    async def _start(self, server: _Server) -> bool:
        """Start ``server``; True when it is ready. Never raises (cancellation aside)."""
        server.state = "starting"
        try:
            return await self._connect(server)
        except Exception as exc:  # a bug here must cost this server, not the turn
            if server.connection is not None:
                await server.connection.close()
            self._fail(server, f"{type(exc).__name__}: {exc}")
            return False
        finally:
            server.task = None

    async def _connect(self, server: _Server) -> bool:
        from ikigai.engine.mcp.catalog import build_catalog
        from ikigai.engine.mcp.connection import McpFailure, ServerConnection

        try:
            launch = prepare(
                server.name, server.settings, secret_names=self._secret_names, cwd=self._cwd
            )
        except LaunchError as exc:
            self._fail(server, str(exc))
            return False
        connection = ServerConnection(launch)
        server.connection = connection
        try:
            listed = await connection.open()
        except McpFailure as exc:
            await connection.close()
            self._fail(server, str(exc))
            return False
        if self._closed:
            await connection.close()
            return False
        catalog = build_catalog(server.name, listed, server.settings.allow, server.settings.deny)
        for warning in catalog.warnings:
            if warning not in server.warned:  # a restart lists the same tools again
                server.warned.add(warning)
                self._say(warning)
        server.catalog = catalog
        server.state = "ready"
        server.error = None
        self._index()
        return True

    def _fail(self, server: _Server, error: str) -> None:
        server.state = "failed"
        server.error = error
        server.connection = None
        server.catalog = None
        self._index()
        if not self._closed:
            self._say(f"MCP server {server.name} failed: {error}")

    def _say(self, text: str, level: NoticeLevel = "warning") -> None:
        self._notify(Notice(text, level, source="mcp"))

    def _index(self) -> None:
        self._tools = {
            tool.name: tool
            for server in self._servers.values()
            if server.state == "ready" and server.catalog is not None
            for tool in server.catalog.tools
        }

    # -- tools ----------------------------------------------------------------------------

    def specs(self) -> list[ToolSpec]:
        """The specs of every tool the ready servers offer."""
        return [tool.spec for tool in self._tools.values()]

    def offers(self, name: str) -> bool:
        """Whether ``name`` is a tool a ready server offers now."""
        return name in self._tools

    def source(self, name: str) -> tuple[str, str] | None:
        """``(server, the server's tool name)`` of an offered tool, or ``None``."""
        tool = self._tools.get(name)
        return (tool.server, tool.tool) if tool is not None else None

    async def call(self, name: str, raw_arguments: str) -> ToolResult:
        """Run the call the model made; every failure is an error result it can read."""
        from ikigai.engine.mcp.connection import McpFailure
        from ikigai.engine.mcp.results import tool_result
        from ikigai.engine.tools.registry import parse_arguments

        tool = self._tools.get(name)
        if tool is None:
            return self.unavailable(name)
        arguments = parse_arguments(raw_arguments)
        if isinstance(arguments, ToolResult):
            return arguments
        problems = tool.argument_problems(arguments)
        if problems:
            return ToolResult(False, f"Invalid arguments for {name}: {'; '.join(problems)}.")
        server = self._servers[tool.server]
        connection = server.connection
        if connection is None:
            return self.unavailable(name)
        try:
            result = await connection.call(tool.tool, arguments)
        except McpFailure as exc:
            if exc.lost:
                return await self._lost(server, connection, tool, str(exc))
            return ToolResult(False, f"{name} failed: {exc}")
        except Exception as exc:  # the SDK's checks (output schema...) raise plain errors
            return ToolResult(False, f"{name} failed: {type(exc).__name__}: {exc}")
        return tool_result(result, self._output_cap)

    def unavailable(self, name: str) -> ToolResult:
        """The result for a call of an MCP tool that is not offered, saying why."""
        parts = split_name(name)
        server = self._servers.get(parts[0]) if parts is not None else None
        if server is None or parts is None:
            known = ", ".join(self._servers) or "none"
            return ToolResult(False, f"Unknown tool {name!r}: no such MCP server ({known}).")
        if server.state == "disabled":
            return ToolResult(False, f"{name}: MCP server {server.name} is disabled.")
        if server.state == "failed":
            return ToolResult(
                False, f"{name}: MCP server {server.name} is not available: {server.error}"
            )
        if server.state != "ready":
            return ToolResult(False, f"{name}: MCP server {server.name} is not ready yet.")
        catalog = server.catalog
        if catalog is not None and any(
            _exposed(server.name, hidden) == name for hidden in catalog.hidden
        ):
            return ToolResult(
                False,
                f"{name} is not available: the user's configuration does not offer it. "
                "Do not retry it.",
            )
        offered = ", ".join(t.name for t in catalog.tools) if catalog is not None else ""
        return ToolResult(
            False,
            f"Unknown tool {name!r}. MCP server {server.name} offers: {offered or 'no tools'}.",
        )

    async def _lost(
        self, server: _Server, connection: ServerConnection, tool: McpTool, reason: str
    ) -> ToolResult:
        """The server died during a call: restart it once, then give up on it."""
        await self._recover(server, connection, reason)
        stopped = f"MCP server {server.name} stopped while running {tool.tool}: {reason}"
        if server.state == "ready":
            return ToolResult(
                False, f"{stopped}. It was restarted: the call did not complete and may be retried."
            )
        return ToolResult(False, f"{stopped}. Its tools are no longer available.")

    async def _recover(self, server: _Server, connection: ServerConnection, reason: str) -> None:
        """Restart a server whose ``connection`` died, once per session; then mark it failed."""
        async with server.lock:
            if server.connection is not connection or self._closed:
                return  # another call restarted it already, or the session is ending
            await connection.close()
            if server.restarts >= MAX_RESTARTS:
                self._fail(server, f"it stopped again after a restart: {reason}")
                return
            server.restarts += 1
            self._say(f"MCP server {server.name} stopped ({reason}); restarting it")
            server.state = "starting"
            server.connection = None
            server.catalog = None
            self._index()
            if await self._start(server):
                self._say(f"MCP server {server.name} restarted", "info")

    # -- status and shutdown --------------------------------------------------------------

    async def status(self, permission: Callable[[str], str]) -> list[ServerStatus]:
        """Each server's state; a ready server is pinged first (one that died is restarted).

        ``permission(name)`` tells the permission of an offered tool.
        """
        from ikigai.engine.mcp.connection import McpFailure

        async def check(server: _Server) -> None:
            connection = server.connection
            if server.state != "ready" or connection is None:
                return
            try:
                await connection.check()
            except McpFailure as exc:
                await self._recover(server, connection, str(exc))

        await asyncio.gather(*(check(server) for server in self._servers.values()))
        return [
            ServerStatus(
                name=server.name,
                transport=server.transport,
                state=server.state,
                error=server.error,
                tools=tuple(
                    ToolStatus(t.tool, t.name, permission(t.name))
                    for t in (server.catalog.tools if server.catalog else ())
                ),
                hidden=tuple(server.catalog.hidden) if server.catalog else (),
                restarts=server.restarts,
            )
            for server in self._servers.values()
        ]

    async def close(self) -> None:
        """Shut every server down (starts in flight are cancelled); idempotent."""
        self._closed = True

        async def stop(server: _Server) -> None:
            if server.connection is not None:
                await server.connection.close()
            task = server.task
            if task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(task)
            server.connection = None

        await asyncio.gather(*(stop(server) for server in self._servers.values()))
        self._tools = {}


def _exposed(server: str, tool: str) -> str:
    from ikigai.engine.mcp.names import tool_name

    return tool_name(server, tool)
