"""The HTTP layer: one shared ``httpx.AsyncClient`` per event loop, and per-provider options.

Connections are pooled and reused across turns. Proxies come from the
environment (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) through httpx's
``trust_env``. Timeouts are per request: a connect timeout and an *idle*
timeout, which bounds the wait for the headers and between two complete
events rather than the whole answer (a long answer may legitimately stream
for minutes); ``HttpProvider`` enforces the event part, httpx the bytes.

httpx itself is imported when the first client or timeout is built: the
settings and the app's first frame need ``ProviderOptions`` but not the
network, and importing httpx costs about a tenth of a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ikigai.providers.sse import DEFAULT_MAX_EVENT_BYTES

if TYPE_CHECKING:
    import ssl

    import httpx


@dataclass(slots=True)
class ProviderOptions:
    """Where and how to reach a provider; built from the config by the caller.

    ``read_timeout`` is the idle timeout: the longest wait for the response
    headers and then for each next *complete* SSE event (bytes that never
    finish an event do not count). A stall before any content is retried at
    most ``stall_retries`` times (and never more than ``max_retries`` in all),
    so with the defaults a server that answers and then sends nothing fails
    after one ``read_timeout`` (2 minutes), not after every retry has waited
    as long. ``max_event_bytes`` caps one SSE event; a
    larger one ends the stream with a ``server`` error.
    """

    base_url: str
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    read_timeout: float = 120.0
    connect_timeout: float = 15.0
    max_retries: int = 4
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    stall_retries: int = 0
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES

    def timeout(self) -> httpx.Timeout:
        import httpx

        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )


_clients: dict[tuple[int, bool], tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}
_PROXY_VARIABLES = ("http_proxy", "all_proxy")


def shared_client(url: str = "https://") -> httpx.AsyncClient:
    """The client for the running event loop and ``url``'s scheme, created on first use.

    Plain ``http://`` URLs (local servers such as Ollama or llama.cpp) get a
    client without a TLS context: loading the CA bundle costs tens of
    milliseconds per process and an ``http://`` connection never uses it. When
    a proxy is configured for plain HTTP it may itself speak TLS, so then the
    verifying client is used for both.
    """
    loop = asyncio.get_running_loop()
    plain = url.startswith("http://") and not any(
        os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES
    )
    key = (id(loop), plain)
    entry = _clients.get(key)
    if entry is not None and entry[0] is loop and not entry[1].is_closed:
        return entry[1]
    import httpx

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(120.0, connect=15.0),
        transport=asyncio_transport(verify=not plain),
        limits=pool_limits(),  # the proxies' transports (from the environment) take these
        trust_env=True,
        follow_redirects=False,
    )
    _clients[key] = (loop, client)
    return client


def pool_limits() -> httpx.Limits:
    """The connection pool's limits (httpx is imported on first use)."""
    import httpx

    return httpx.Limits(max_connections=20, keepalive_expiry=60.0)


def asyncio_transport(verify: bool | ssl.SSLContext = True) -> httpx.AsyncHTTPTransport:
    """httpx's transport (pool, TLS, HTTP/1.1) reading through ``aio_network.AsyncioBackend``.

    httpx 0.28 takes no network backend, so the pool it built is given one
    before its first connection (``_network_backend`` is the attribute the
    pool opens every connection with; httpx is pinned below 0.29). Proxies
    from the environment keep httpx's own transports.
    """
    import httpx

    from ikigai.providers.aio_network import AsyncioBackend

    transport = httpx.AsyncHTTPTransport(verify=verify, limits=pool_limits())
    transport._pool._network_backend = AsyncioBackend()
    return transport


async def close_shared_client() -> None:
    """Close the running loop's clients (call before the loop ends)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [key for key in _clients if key[0] == loop_id]:
        await _clients.pop(key)[1].aclose()


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8 or ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
