"""One running MCP server, through the official ``mcp`` SDK's ``Client``.

The SDK does the protocol (handshake, JSON-RPC framing, stdio and streamable
HTTP transports, process shutdown); nothing here speaks MCP by hand. What this
module adds is the lifetime a long session needs:

* the client is entered and left by one task of its own, because the SDK's
  anyio task groups and cancel scopes must be entered and exited by the same
  task; other tasks call tools through it while it waits to be stopped;
* the start (spawn or connect, handshake, tool listing) is bounded by the
  server's ``timeout``, and a call by the same ``timeout``;
* a stdio server's stderr goes to a pipe whose last few KiB are kept (the
  terminal must never see it) and quoted when the server fails;
* every failure becomes ``McpFailure`` with a one-line message for the user
  and the model; ``lost`` tells a crashed server from a failed call;
* the SDK's own log records (a stdout line that is not JSON-RPC, a broken
  pipe) get a null handler: without one Python prints them on stderr, over the
  full-screen app and into a script's stderr. What matters reaches the user as
  the server's error instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING, Any

import anyio
import httpx2
import mcp_types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from ikigai.engine.textsafety import neutralize

if TYPE_CHECKING:
    from ikigai.engine.mcp.launch import Launch

logging.getLogger("mcp").addHandler(logging.NullHandler())

CLIENT_NAME = "ikigai"
STDERR_KEPT = 4096
"""Bytes of a stdio server's stderr kept to explain a failure."""
STDERR_QUOTED = 300
"""Characters of that stderr quoted in an error message."""
MAX_TOOL_PAGES = 50
"""``tools/list`` pages read at most (a paginator that never ends cannot hang the start)."""
CHECK_TIMEOUT = 5.0
"""Seconds a running server has to answer the check ``/mcp`` makes."""
HTTP_CLOSE_GRACE = 5.0
"""Seconds an HTTP server has to answer the request that ends the session."""
HTTP_STREAM_READ_TIMEOUT = 300.0
"""Seconds an HTTP server's event stream may stay silent (the SDK's default)."""


class McpFailure(Exception):
    """A server could not start, or a call failed. ``lost``: the connection is gone."""

    def __init__(self, message: str, *, lost: bool = False) -> None:
        super().__init__(message)
        self.lost = lost


class _StderrTail(asyncio.Protocol):
    """Keeps the last ``STDERR_KEPT`` bytes a server wrote to its stderr."""

    def __init__(self) -> None:
        self.data = bytearray()

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > STDERR_KEPT:
            del self.data[: len(self.data) - STDERR_KEPT]

    def quote(self) -> str:
        """The last non-empty lines, on one line, control characters made visible."""
        text = self.data.decode("utf-8", "replace")
        lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        return neutralize(" | ".join(lines)[-STDERR_QUOTED:])


class ServerConnection:
    """A started server: ``open`` it, ``call`` its tools, ``close`` it (idempotent)."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: anyio.Event | None = None
        self._start_scope: anyio.CancelScope | None = None
        self._stderr: _StderrTail | None = None
        self._stderr_transport: asyncio.ReadTransport | None = None
        self.ended: str | None = None
        """Why the connection ended on its own (the server crashed), or ``None``."""

    @property
    def alive(self) -> bool:
        """Whether the server is connected and its task still runs."""
        return self._client is not None and self._task is not None and not self._task.done()

    async def open(self) -> list[mcp_types.Tool]:
        """Start the server and list its tools; ``McpFailure`` when it cannot be used."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[list[mcp_types.Tool]] = loop.create_future()
        self._stop = anyio.Event()
        self._task = loop.create_task(self._serve(ready), name=f"mcp-{self.launch.name}")
        return await asyncio.shield(ready)

    async def close(self) -> None:
        """Stop the server: a stdio server's stdin is closed, then its process group is
        terminated (the SDK bounds each step); an HTTP session gets ``HTTP_CLOSE_GRACE``
        seconds to end, then is dropped."""
        task = self._task
        if self._stop is not None:
            self._stop.set()
        if self._client is None and self._start_scope is not None:
            self._start_scope.cancel()  # still starting: give up now, not at the timeout
        if task is not None and not task.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                if self.launch.url is None:
                    await asyncio.shield(task)
                else:
                    await asyncio.wait_for(asyncio.shield(task), HTTP_CLOSE_GRACE)
            if not task.done():  # an HTTP server that does not answer the session's end
                task.cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task
        self._client = None

    async def call(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call ``tool``; ``McpFailure`` for a failed call (``lost`` when the server is gone)."""
        client = self._client
        if client is None or not self.alive:
            raise McpFailure(self.ended or "the server is not running", lost=True)
        timeout = self.launch.timeout
        try:
            return await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == mcp_types.CONNECTION_CLOSED:
                reason = self._lost_reason("the server closed the connection")
                raise McpFailure(reason, lost=True) from None
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                raise McpFailure(f"no answer within {timeout:g} s") from None
            raise McpFailure(f"{_one_line(exc.message)} (MCP error {exc.code})") from None
        except (httpx2.HTTPError, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise McpFailure(
                self._lost_reason("the connection to the server broke"), lost=True
            ) from None

    async def check(self) -> None:
        """Check the server still answers; ``McpFailure(lost=True)`` when it does not.

        A ``tools/list`` request, since ``ping`` is gone from the 2026-07-28 protocol.
        """
        client = self._client
        if client is None or not self.alive:
            raise McpFailure(self.ended or "the server is not running", lost=True)
        try:
            with anyio.fail_after(min(self.launch.timeout, CHECK_TIMEOUT)):
                await client.list_tools()
        except (MCPError, TimeoutError, OSError, httpx2.HTTPError) as exc:
            raise McpFailure(self._lost_reason(describe(exc, self.launch)), lost=True) from None

    # -- the task that owns the client ------------------------------------------------------

    async def _serve(self, ready: asyncio.Future[list[mcp_types.Tool]]) -> None:
        assert self._stop is not None
        try:
            with anyio.fail_after(self.launch.timeout) as start_deadline:
                self._start_scope = start_deadline
                async with self._connected() as client:
                    tools = await _list_tools(client)
                    start_deadline.deadline = math.inf  # started: the server may now idle
                    self._start_scope = None
                    self._client = client
                    ready.set_result(tools)
                    await self._stop.wait()
        except Exception as exc:
            message = self._with_stderr(describe(exc, self.launch))
            if not ready.done():
                ready.set_exception(McpFailure(message))
            else:
                self.ended = message
        finally:
            self._client = None
            if not ready.done():
                ready.set_exception(McpFailure("the start was cancelled"))
            if self._stderr_transport is not None:
                self._stderr_transport.close()

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[Client]:
        launch = self.launch
        info = mcp_types.Implementation(name=CLIENT_NAME, version=_version())
        options: dict[str, Any] = {
            "read_timeout_seconds": launch.timeout,
            "client_info": info,
            "cache": None,
        }
        if launch.url is not None:
            timeout = httpx2.Timeout(launch.timeout, read=HTTP_STREAM_READ_TIMEOUT)
            async with httpx2.AsyncClient(headers=dict(launch.headers), timeout=timeout) as http:
                transport = streamable_http_client(launch.url, http_client=http)
                async with Client(transport, **options) as client:
                    yield client
            return
        assert launch.command is not None
        errlog = await self._stderr_pipe()
        parameters = StdioServerParameters(
            command=launch.command,
            args=list(launch.args),
            env=dict(launch.env),
            cwd=launch.cwd,
            encoding_error_handler="replace",
        )
        try:
            async with Client(stdio_client(parameters, errlog=errlog), **options) as client:  # type: ignore[arg-type]
                errlog.close()  # the server holds its own copy of the pipe now
                yield client
        finally:
            if not errlog.closed:
                errlog.close()

    async def _stderr_pipe(self) -> IO[str]:
        read_fd, write_fd = os.pipe()
        loop = asyncio.get_running_loop()
        reader = os.fdopen(read_fd, "rb", buffering=0)
        try:
            transport, protocol = await loop.connect_read_pipe(_StderrTail, reader)
        except BaseException:
            reader.close()
            os.close(write_fd)
            raise
        self._stderr_transport = transport
        self._stderr = protocol
        return os.fdopen(write_fd, "w")

    def _with_stderr(self, message: str) -> str:
        quoted = self._stderr.quote() if self._stderr is not None else ""
        return f"{message} (stderr: {quoted})" if quoted else message

    def _lost_reason(self, message: str) -> str:
        return self._with_stderr(self.ended or message)


async def _list_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def describe(exc: BaseException, launch: Launch) -> str:
    """A one-line description of why starting or talking to ``launch`` failed."""
    leaf = _leaf(exc)
    if isinstance(leaf, TimeoutError):
        return f"no answer within {launch.timeout:g} s"
    if isinstance(leaf, FileNotFoundError) and launch.command is not None:
        return f"command {launch.command!r} not found"
    if isinstance(leaf, PermissionError) and launch.command is not None:
        return f"command {launch.command!r} cannot be run (permission denied)"
    if isinstance(leaf, MCPError):
        if leaf.code == mcp_types.CONNECTION_CLOSED:
            return "the server closed the connection before it was ready"
        return f"{_one_line(leaf.message)} (MCP error {leaf.code})"
    if isinstance(leaf, httpx2.HTTPStatusError):
        return f"HTTP {leaf.response.status_code} from {launch.url}"
    if isinstance(leaf, httpx2.ConnectError):
        return f"cannot connect to {launch.url}: {_one_line(str(leaf))}"
    if isinstance(leaf, httpx2.HTTPError):
        return f"{type(leaf).__name__} talking to {launch.url}: {_one_line(str(leaf))}"
    return f"{type(leaf).__name__}: {_one_line(str(leaf))}"


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _one_line(text: str) -> str:
    return neutralize(" ".join(text.split())[:500])


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ikigai")
    except PackageNotFoundError:
        return "0"
