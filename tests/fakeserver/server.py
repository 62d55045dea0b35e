"""The loopback HTTP/1.1 server: routing, the reply queue, faults, recording.

It runs plain asyncio streams on a background thread with its own event loop,
so synchronous and asynchronous tests alike talk to it over a real socket.
Streams are answered with ``Connection: close`` and a body delimited by closing
the connection (no Content-Length, no chunked encoding), as the vendors' SSE
endpoints effectively behave for one response; JSON (error) bodies carry a
Content-Length and keep the connection alive unless the client asked otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

from tests.fakeserver.anthropic import AnthropicRenderer
from tests.fakeserver.base import RenderContext, Renderer, default_error_message
from tests.fakeserver.google import GoogleRenderer
from tests.fakeserver.openai_chat import OpenAIChatRenderer
from tests.fakeserver.openai_responses import OpenAIResponsesRenderer
from tests.fakeserver.script import Raw, Reply

NO_REPLY_MESSAGE = "fake server: no scripted reply"

RENDERERS: dict[str, type[Renderer]] = {
    "openai-chat": OpenAIChatRenderer,
    "openai": OpenAIResponsesRenderer,
    "anthropic": AnthropicRenderer,
    "google": GoogleRenderer,
}

_GOOGLE_PATH = re.compile(r"^(?:/.*)?/v1(?:beta|alpha)?/models/[^/]+:streamGenerateContent$")
MODELS_ROUTE = "models"
"""``GET .../models``: the model lists of all four APIs (see ``tests.fakeserver.models``)."""
_MAX_HEAD = 64 * 1024
_RESET_GRACE = 0.02
"""Seconds between the last bytes and an RST, so the client reads them before the reset."""


def route_for(path: str, method: str = "POST") -> str | None:
    """The wire format served at ``path`` (``None``: unknown path, answered 404).

    ``GET`` of a path ending in ``/models`` is the model list (``models``).
    """
    if method == "GET":
        return MODELS_ROUTE if path.rstrip("/").endswith("/models") else None
    if path.endswith("/chat/completions"):
        return "openai-chat"
    if path.endswith("/responses"):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    if _GOOGLE_PATH.match(path):
        return "google"
    return None


@dataclass
class RecordedRequest:
    """One request as the server received it; ``headers`` have lower-case names."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    route: str | None = None


@dataclass(frozen=True)
class StreamTiming:
    """When the server wrote the first and the last body bytes of one 200 stream.

    Both are ``time.monotonic()`` values, so a benchmark in the same process can
    compare them with its own clock (the time the server took to send an answer).
    """

    first_byte: float
    last_byte: float


@dataclass
class _Plan:
    """What to send for one streamed reply: event groups with a stall between them."""

    groups: list[list[bytes]] = field(default_factory=list)
    stall: float = 0.0
    drip: float | None = None
    """Seconds between single bytes of the groups after the first (None: no drip)."""
    reset: bool = False


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Overloaded" if status == 529 else "Unknown"
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
    return _status_line(status) + lines + b"\r\n"


def _plan(renderer: Renderer, reply: Reply) -> _Plan:
    events = renderer.events(reply)
    fault = reply.fault
    if fault is None:
        return _Plan([events])
    n = fault.after_events
    if fault.kind == "reset":
        return _Plan([events[:n]], reset=True)
    if fault.kind == "cut":
        return _Plan([events[: min(n, len(events) - 1)]])
    if fault.kind == "malformed":
        return _Plan([[*events[:n], renderer.malformed_event(), *events[n:]]])
    if fault.kind == "stall":
        return _Plan([events[:n], events[n:]], stall=fault.seconds)
    if fault.kind == "drip":
        return _Plan([events[:n], events[n:]], drip=fault.seconds)
    sent = min(n, len(events))
    return _Plan([[*events[:sent], *renderer.error_events(fault.error, sent)]])


def _encode_body(body: bytes | str | dict[str, Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


class FakeServer:
    """A scripted fake of the four LLM streaming APIs on 127.0.0.1, for tests.

    ``enqueue`` replies (a FIFO shared by all formats, consumed one per request
    to a known path); ``requests`` records what clients sent. An empty queue
    answers HTTP 500 ``fake server: no scripted reply`` with ``x-should-retry:
    false`` so that a test fails loudly instead of hanging. ``repeat`` (for the
    command line's ``--loop``) refills an empty queue with the same replies.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, repeat: Sequence[Reply | Raw] = ()
    ) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        """Server-side failures (a reply that could not be rendered, say)."""
        self.streams: list[StreamTiming] = []
        """When each 200 stream of a scripted ``Reply`` was sent, in order of completion."""
        self._repeat = list(repeat)
        self._queue: deque[Reply | Raw] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._serial = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve on a background thread; ``port`` holds the bound port after."""
        if self._thread is not None:
            raise RuntimeError("the fake server is already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="fake-llm-server", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=10)

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _open(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, limit=_MAX_HEAD
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- the test-facing API ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the server root."""
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """The base URL a provider is configured with: OpenAI's ends in ``/v1``."""
        if provider in ("openai", "openai-chat", "openai-responses"):
            return f"{self.url}/v1"
        if provider in ("anthropic", "google", "gemini"):
            return self.url
        raise ValueError(f"unknown provider {provider!r}")

    def enqueue(self, *replies: Reply | Raw) -> None:
        """Append replies to the FIFO (thread-safe; any format may consume them)."""
        for reply in replies:
            if not isinstance(reply, Reply | Raw):
                raise TypeError(f"enqueue takes Reply or Raw, not {reply!r}")
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """How many enqueued replies have not been served yet."""
        with self._lock:
            return len(self._queue)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> None:
        """Block until at least ``n`` requests were recorded; ``TimeoutError`` otherwise.

        Do not call it from the event loop that sends those requests (it would
        block it); use ``wait_for_requests_async`` there.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(
                    f"expected {n} request(s) within {timeout} s, got {len(self.requests)}"
                )

    async def wait_for_requests_async(self, n: int, seconds: float = 5.0) -> None:
        """``wait_for_requests`` for async tests: polls without blocking the loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while len(self.requests) < n:
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"expected {n} request(s) within {seconds} s, got {len(self.requests)}"
                )
            await asyncio.sleep(0.005)

    # -- one connection ---------------------------------------------------------------------

    def _next(self) -> tuple[int, Reply | Raw | None]:
        with self._lock:
            self._serial += 1
            if not self._queue and self._repeat:
                self._queue.extend(self._repeat)
            return self._serial, (self._queue.popleft() if self._queue else None)

    def _record(self, request: RecordedRequest) -> None:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        aborted = False
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                self._record(request)
                keep_alive, aborted = await self._respond(request, writer)
                if not keep_alive or aborted:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # The server is stopping (a stalled or dripping reply was cut
            # short). Ending quietly keeps asyncio's stream callback, which
            # asks the task for its exception, from logging a traceback.
            pass
        except Exception:
            self.errors.append(traceback.format_exc())
            traceback.print_exc(file=sys.stderr)
        finally:
            if task is not None:
                self._tasks.discard(task)
            if not aborted:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        else:
            body = b""
        path, _, query = target.partition("?")
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        return RecordedRequest(method, path, query, headers, body, parsed, route_for(path, method))

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readline()

    async def _respond(
        self, request: RecordedRequest, writer: asyncio.StreamWriter
    ) -> tuple[bool, bool]:
        """Answer one request; returns (keep the connection alive, connection aborted)."""
        keep_alive = request.headers.get("connection", "").lower() != "close"
        if request.route is None:
            message = f"fake server: no route for {request.method} {request.path}"
            body = json.dumps({"error": {"message": message, "code": 404}}).encode()
            await self._send_json(writer, 404, body, {}, keep_alive)
            return keep_alive, False
        if request.route == MODELS_ROUTE:
            return await self._send_listing(writer, keep_alive), False
        serial, item = self._next()
        renderer = RENDERERS[request.route](RenderContext(serial, request.path, request.query))
        if item is None:
            body = json.dumps(renderer.error_body(500, NO_REPLY_MESSAGE, None)).encode()
            await self._send_json(writer, 500, body, {"x-should-retry": "false"}, keep_alive)
            return keep_alive, False
        if isinstance(item, Raw):
            return await self._send_raw(writer, item, keep_alive)
        try:
            if item.delay > 0:
                await asyncio.sleep(item.delay)
            if not item.is_stream:
                return await self._send_error(writer, renderer, item, keep_alive), False
            plan = _plan(renderer, item)
        except Exception as exc:
            self.errors.append(traceback.format_exc())
            message = f"fake server: could not render the reply: {exc!r}"
            body = json.dumps(renderer.error_body(500, message, None)).encode()
            await self._send_json(writer, 500, body, {"x-should-retry": "false"}, False)
            return False, False
        return False, await self._stream(writer, renderer, item, plan)

    async def _send_listing(self, writer: asyncio.StreamWriter, keep_alive: bool) -> bool:
        """A model-list request: the next queued ``Raw`` (or error ``Reply``) as it is.

        Nothing queued is a 404, as from a server without a model list.
        """
        _serial, item = self._next()
        if isinstance(item, Raw):
            alive, _ = await self._send_raw(writer, item, keep_alive)
            return alive
        if item is None or item.is_stream:
            body = json.dumps({"error": {"message": "fake server: no model list", "code": 404}})
            await self._send_json(writer, 404, body.encode(), {}, keep_alive)
            return keep_alive
        body_bytes = _encode_body(item.body if item.body is not None else {})
        await self._send_json(writer, item.status, body_bytes, dict(item.headers), keep_alive)
        return keep_alive

    async def _send_json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        extra: dict[str, str],
        keep_alive: bool,
        content_type: str = "application/json",
    ) -> None:
        headers = [
            ("content-type", content_type),
            ("content-length", str(len(body))),
            ("connection", "keep-alive" if keep_alive else "close"),
            *extra.items(),
        ]
        writer.write(_head(status, headers) + body)
        await writer.drain()

    async def _send_error(
        self, writer: asyncio.StreamWriter, renderer: Renderer, reply: Reply, keep_alive: bool
    ) -> bool:
        if reply.body is not None:
            body = _encode_body(reply.body)
        else:
            message = default_error_message(reply.status)
            body = json.dumps(renderer.error_body(reply.status, message, reply)).encode()
        extra = {renderer.request_id_header: renderer.request_id}
        extra.update(renderer.retry_headers(reply))
        extra.update(reply.headers)
        await self._send_json(
            writer, reply.status, body, extra, keep_alive, renderer.error_content_type()
        )
        return keep_alive

    async def _send_raw(
        self, writer: asyncio.StreamWriter, raw: Raw, keep_alive: bool
    ) -> tuple[bool, bool]:
        streamed = raw.status == 200
        headers = [("content-type", raw.content_type)]
        if streamed:
            keep_alive = False
            headers += [("cache-control", "no-cache"), ("connection", "close")]
        else:
            headers += [
                ("content-length", str(len(raw.data))),
                ("connection", "keep-alive" if keep_alive else "close"),
            ]
        headers += list(raw.headers.items())
        writer.write(_head(raw.status, headers))
        await writer.drain()
        offset = 0
        for size in raw.chunk_sizes or ():
            if offset >= len(raw.data):
                break
            await self._write(writer, raw.data[offset : offset + size], None)
            offset += size
        if offset < len(raw.data):
            await self._write(writer, raw.data[offset:], None)
        return keep_alive, False

    async def _stream(
        self, writer: asyncio.StreamWriter, renderer: Renderer, reply: Reply, plan: _Plan
    ) -> bool:
        """Send a 200 stream following ``plan``; returns whether the connection was aborted."""
        headers = [
            ("content-type", renderer.stream_content_type()),
            ("cache-control", "no-cache"),
            ("connection", "close"),
            (renderer.request_id_header, renderer.request_id),
            *reply.headers.items(),
        ]
        writer.write(_head(200, headers))
        await writer.drain()
        first_byte = time.monotonic()
        for number, group in enumerate(plan.groups):
            if number:
                await asyncio.sleep(plan.stall)
            if number and plan.drip is not None:
                for byte in b"".join(group):
                    await asyncio.sleep(plan.drip)
                    await self._write(writer, bytes([byte]), None)
            elif reply.pace > 0:
                await self._paced(writer, group, reply.pace, reply.split)
            elif reply.event_delay > 0:
                for event in group:
                    await asyncio.sleep(reply.event_delay)
                    await self._write(writer, event, reply.split)
            elif group:
                await self._write(writer, b"".join(group), reply.split)
        self.streams.append(StreamTiming(first_byte, time.monotonic()))
        if plan.reset:
            await self._reset(writer)
            return True
        return False

    async def _paced(
        self, writer: asyncio.StreamWriter, events: list[bytes], pace: float, split: int | None
    ) -> None:
        """Send ``events`` at ``pace`` a second: each wake-up writes every event that is due."""
        start = time.monotonic()
        sent = 0
        while sent < len(events):
            due = min(len(events), int((time.monotonic() - start) * pace) + 1)
            await self._write(writer, b"".join(events[sent:due]), split)
            sent = due
            if sent < len(events):
                await asyncio.sleep(max(0.0, start + sent / pace - time.monotonic()))

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, data: bytes, split: int | None) -> None:
        if split is None:
            writer.write(data)
            await writer.drain()
            return
        for start in range(0, len(data), split):
            writer.write(data[start : start + split])
            await writer.drain()
            await asyncio.sleep(0)

    @staticmethod
    async def _reset(writer: asyncio.StreamWriter) -> None:
        """Abort the connection with a TCP RST once the bytes written so far have left."""
        transport = writer.transport
        transport.set_write_buffer_limits(0)
        await writer.drain()
        await asyncio.sleep(_RESET_GRACE)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
