"""The HTTP layer: one shared ``httpx.AsyncClient`` per event loop, and per-provider options.

Connections are pooled and reused across turns. Proxies come from the
environment (``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) through httpx's
``trust_env``. Timeouts are per request: a connect timeout and an *idle read*
timeout, which bounds the silence between two chunks rather than the whole
answer (a long answer may legitimately stream for minutes).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx


@dataclass(slots=True)
class ProviderOptions:
    """Where and how to reach a provider; built from the config by the caller."""

    base_url: str
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    read_timeout: float = 120.0
    connect_timeout: float = 15.0
    max_retries: int = 4
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )


_clients: dict[int, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}


def shared_client() -> httpx.AsyncClient:
    """The client for the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    entry = _clients.get(id(loop))
    if entry is not None and entry[0] is loop and not entry[1].is_closed:
        return entry[1]
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(120.0, connect=15.0),
        limits=httpx.Limits(max_connections=20, keepalive_expiry=60.0),
        trust_env=True,
        follow_redirects=False,
    )
    _clients[id(loop)] = (loop, client)
    return client


async def close_shared_client() -> None:
    """Close the running loop's client (call before the loop ends)."""
    entry = _clients.pop(id(asyncio.get_running_loop()), None)
    if entry is not None:
        await entry[1].aclose()


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8 or ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
