"""httpcore's network layer on asyncio's own transports, for streams of many small reads.

A streamed answer arrives as hundreds of small network reads a second (one
per token at a model's pace), and each read through httpcore's default
backend passes anyio: a cancel scope with a deadline, a generator-based
exception map and a pause/resume of the transport per read. Measured on a
paced 100 tokens/s stream, that is about half of the CPU a plain async httpx
client spends per token. This backend implements httpcore's public
``AsyncNetworkBackend`` interface on an ``asyncio.Protocol``: bytes are
received into one reused buffer and queued, a read takes what is queued (waiting
on one future, with one timer when a timeout is set), and reading is paused
only when a slow consumer lets more than ``HIGH_WATER`` bytes pile up.

Hand-written because neither httpx nor httpcore ships an asyncio backend
without anyio; it is httpcore's documented extension point
(``AsyncConnectionPool(network_backend=...)``), and TLS is asyncio's
``start_tls``. Errors are raised as httpcore's exceptions (``ConnectError``,
``ConnectTimeout``, ``ReadError``, ``ReadTimeout``, ``WriteError``,
``WriteTimeout``), which httpx maps to its own as for any backend. The
``timeout`` parameters are httpcore's interface (hence the ``noqa``).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import Coroutine, Iterable
from typing import Any

import httpcore

HIGH_WATER = 256 * 1024
"""Bytes queued unread before the transport stops reading from the socket."""
LOW_WATER = 64 * 1024
"""Bytes queued below which a paused transport reads again."""
RECEIVE_BUFFER = 64 * 1024
"""Bytes one receive may deliver (each is copied out of the buffer it was received into)."""

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class _StreamProtocol(asyncio.BufferedProtocol):
    """Queues what the transport delivers; wakes the one reader or writer that waits.

    A buffered protocol: the transport receives into one preallocated buffer
    (``recv_into``) instead of allocating ``max_size`` bytes for every read,
    which a stream of small reads would pay each time.
    """

    def __init__(self) -> None:
        self._buffer = memoryview(bytearray(RECEIVE_BUFFER))
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.queued = 0
        self.eof = False
        self.error: BaseException | None = None
        self.read_waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.reading_paused = False
        self.writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(self._buffer[:nbytes])
        self.chunks.append(data)
        self.queued += len(data)
        if self.queued > HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_writer()

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of what is queued (a whole chunk without a copy when it fits)."""
        chunks = self.chunks
        first = chunks[0]
        if len(first) <= max_bytes:
            chunks.popleft()
            data = first
        else:
            data = first[:max_bytes]
            chunks[0] = first[max_bytes:]
        self.queued -= len(data)
        if self.queued < LOW_WATER:
            self.resume_reading()
        return data

    def resume_reading(self) -> None:
        """Read from the socket again if ``data_received`` paused it."""
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    def _wake_reader(self) -> None:
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _wait(
    future: asyncio.Future[None], seconds: float | None, timed_out: type[Exception]
) -> None:
    """Wait for ``future``; raise ``timed_out`` after ``seconds`` (one timer, no task).

    The timer fails the future rather than cancelling it, so a cancellation of
    the waiting task that comes in the same loop pass stays a cancellation.
    """
    if seconds is None:
        await future
        return
    loop = asyncio.get_running_loop()

    def expire() -> None:
        if not future.done():
            future.set_exception(timed_out(f"timed out after {seconds:g} s"))

    timer = loop.call_later(seconds, expire)
    try:
        await future
    finally:
        timer.cancel()


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: reads what the protocol queued, writes through the transport."""

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.error is not None:
                raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
            if protocol.eof:
                return b""
            waiter = asyncio.get_running_loop().create_future()
            protocol.read_waiter = waiter
            try:
                await _wait(waiter, timeout, httpcore.ReadTimeout)
            finally:
                protocol.read_waiter = None
        return protocol.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        protocol = self._protocol
        if protocol.error is not None or self._transport.is_closing():
            raise httpcore.WriteError(str(protocol.error or "the connection is closed"))
        try:
            self._transport.write(buffer)
        except (OSError, RuntimeError) as error:
            raise httpcore.WriteError(str(error)) from error
        while protocol.writing_paused and not protocol.eof:
            waiter = asyncio.get_running_loop().create_future()
            protocol.drain_waiter = waiter
            try:
                await _wait(waiter, timeout, httpcore.WriteTimeout)
            finally:
                protocol.drain_waiter = None
        if protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error))

    async def aclose(self) -> None:
        if not self._transport.is_closing():
            self._protocol.resume_reading()  # a closing TLS transport reads the peer's close
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        # asyncio's own handshake timeout aborts with an OSError; this one says timeout.
        backstop = None if timeout is None else timeout + 1.0
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=backstop,
                )
        except TimeoutError as error:
            self._transport.close()
            raise httpcore.ConnectTimeout(f"TLS handshake timed out: {error}") from error
        except (OSError, ssl.SSLError) as error:
            self._transport.close()
            raise httpcore.ConnectError(str(error)) from error
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        # Flow control acts on the TLS transport from here on (start_tls does not
        # call connection_made again).
        self._protocol.resume_reading()
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # An idle connection with bytes or an end pending cannot be reused.
            protocol = self._protocol
            return bool(protocol.chunks) or protocol.eof or transport.is_closing()
        return None


def _apply(sock: socket.socket | None, options: Iterable[SocketOption] | None) -> None:
    if sock is None or not options:
        return
    for option in options:
        sock.setsockopt(*option)


async def _connect(
    connecting: Coroutine[Any, Any, tuple[asyncio.BaseTransport, _StreamProtocol]],
    where: str,
    seconds: float | None,
    socket_options: Iterable[SocketOption] | None,
) -> AsyncioStream:
    """Await ``connecting`` within ``seconds``; its errors as httpcore's."""
    try:
        async with asyncio.timeout(seconds):
            transport, protocol = await connecting
    except TimeoutError as error:
        raise httpcore.ConnectTimeout(f"connecting to {where} timed out") from error
    except OSError as error:
        raise httpcore.ConnectError(str(error)) from error
    assert isinstance(transport, asyncio.Transport)
    _apply(transport.get_extra_info("socket"), socket_options)
    return AsyncioStream(transport, protocol)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens connections with the running loop's ``create_connection``."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address is not None else None
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(_StreamProtocol, host, port, local_addr=local)
        return await _connect(connecting, f"{host}:{port}", timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        connecting = asyncio.get_running_loop().create_unix_connection(_StreamProtocol, path)
        return await _connect(connecting, path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
