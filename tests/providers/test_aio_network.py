"""The asyncio network backend under httpx, over real loopback sockets (plain and TLS).

The providers' own tests stream every recorded format and fault through it
(``shared_client`` uses it); these cover what those do not reach: TLS, a slow
reader and a large upload (flow control both ways), a kept-alive connection
the server closed, and each failure as the httpx exception callers handle.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import trustme

from ikigai.providers.aio_network import HIGH_WATER, AsyncioBackend
from ikigai.providers.http import asyncio_transport, close_shared_client, shared_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request: its head and its body (by ``content-length``)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return head, body


def response(body: bytes, *, close: bool = False) -> bytes:
    connection = b"close" if close else b"keep-alive"
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
        b"content-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: "
        + connection
        + b"\r\n\r\n"
        + body
    )


async def serve(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> asyncio.Server:
    return await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)


def port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=asyncio_transport(verify=False), timeout=5.0, trust_env=False
    ) as plain:
        yield plain


async def test_the_shared_client_reads_through_the_asyncio_backend() -> None:
    for url in ("http://127.0.0.1/", "https://example.com/"):
        transport = shared_client(url)._transport
        assert isinstance(transport, httpx.AsyncHTTPTransport)
        assert isinstance(transport._pool._network_backend, AsyncioBackend)
    await close_shared_client()


async def test_a_tls_server_is_verified_and_answers(ca: trustme.CA) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await read_request(reader)
        writer.write(response(b"secure:" + body))
        await writer.drain()
        writer.close()

    server = await serve(handler, server_context)
    async with (
        server,
        httpx.AsyncClient(transport=asyncio_transport(verify=client_context)) as secure,
    ):
        answer = await secure.post(f"https://127.0.0.1:{port(server)}/", content=b"hello")
        assert answer.status_code == 200
        assert answer.content == b"secure:hello"
        # A client that does not trust the CA refuses the same server.
        async with httpx.AsyncClient(transport=asyncio_transport(verify=True)) as strict:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await strict.get(f"https://127.0.0.1:{port(server)}/")


async def test_a_tls_handshake_that_never_comes_is_a_connect_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the client hello and never answers

    server = await serve(handler)
    async with (
        server,
        httpx.AsyncClient(transport=asyncio_transport(), timeout=httpx.Timeout(0.3)) as secure,
    ):
        with pytest.raises(httpx.ConnectTimeout):
            await secure.get(f"https://127.0.0.1:{port(server)}/")


async def test_a_refused_connection_is_a_connect_error(client: httpx.AsyncClient) -> None:
    server = await serve(lambda reader, writer: asyncio.sleep(0))
    closed_port = port(server)
    server.close()
    await server.wait_closed()
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{closed_port}/")


async def test_a_server_that_stops_sending_is_a_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        await writer.drain()
        await asyncio.sleep(5)

    server = await serve(handler)
    timeout = httpx.Timeout(5.0, read=0.3)
    async with server, httpx.AsyncClient(transport=asyncio_transport(), timeout=timeout) as slow:
        with pytest.raises(httpx.ReadTimeout):
            await slow.get(f"http://127.0.0.1:{port(server)}/")


async def test_a_connection_reset_mid_body_is_a_read_error(client: httpx.AsyncClient) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial")
        await writer.drain()
        writer.transport.abort()

    server = await serve(handler)
    async with server:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await client.get(f"http://127.0.0.1:{port(server)}/")


async def test_a_slow_reader_gets_every_byte_in_order(client: httpx.AsyncClient) -> None:
    payload = bytes(range(256)) * (4 * HIGH_WATER // 256)  # four times the high-water mark

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response(payload, close=True))
        await writer.drain()
        writer.close()

    server = await serve(handler)
    received = bytearray()
    async with server, client.stream("GET", f"http://127.0.0.1:{port(server)}/") as streamed:
        async for chunk in streamed.aiter_raw(1024):
            received += chunk
            if len(received) % (64 * 1024) < 1024:
                await asyncio.sleep(0.01)  # the server outruns the reader: reading pauses
    assert bytes(received) == payload


async def test_a_large_upload_is_written_whole(client: httpx.AsyncClient) -> None:
    upload = b"0123456789abcdef" * (512 * 1024)  # 8 MiB: more than the socket buffers take

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await read_request(reader)
        writer.write(response(str(len(body)).encode() + b":" + body[-16:], close=True))
        await writer.drain()
        writer.close()

    server = await serve(handler)
    async with server:
        answer = await client.post(f"http://127.0.0.1:{port(server)}/", content=upload)
    assert answer.content == f"{len(upload)}:0123456789abcdef".encode()


async def test_a_kept_alive_connection_the_server_closed_is_not_reused(
    client: httpx.AsyncClient,
) -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(response(b"first" if connections == 1 else b"again"))  # says keep-alive
        await writer.drain()
        writer.close()  # ... and closes anyway

    server = await serve(handler)
    async with server:
        url = f"http://127.0.0.1:{port(server)}/"
        assert (await client.get(url)).content == b"first"
        await asyncio.sleep(0.05)
        assert (await client.get(url)).content == b"again"
    assert connections == 2
