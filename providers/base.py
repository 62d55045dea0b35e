"""The provider interface and the shared HTTP streaming machinery.

A concrete provider says how to build its URL, headers and body, and gives a
``Normalizer`` that turns its SSE events into normalized events. ``HttpProvider``
does the rest, identically for every wire API:

* POST the request on the shared client; a non-2xx answer is read whole and
  classified (never streamed);
* decode the body incrementally and feed each SSE event to the normalizer;
* enforce the contract's order: ``start`` first, exactly one ``done`` or
  ``error`` last, nothing after it;
* retry a failed request with exponential backoff and jitter, but only while no
  event has reached the caller. ``start`` is held back until the next event so
  that a connection dropped right after the response headers is still retried.
"""

from __future__ import annotations

import asyncio
import json
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, Protocol

import httpx

from ikigai.providers import errors
from ikigai.providers.events import Done, Error, ProviderEvent, Retry, Start, StreamEvent
from ikigai.providers.http import ProviderOptions, shared_client
from ikigai.providers.request import Request
from ikigai.providers.sse import SSEDecoder, SSEEvent


class Provider(Protocol):
    """Anything that can stream a response to a ``Request``."""

    @property
    def id(self) -> str:
        """The provider id (``openai``, ``anthropic``, ...)."""
        ...

    def stream(self, request: Request) -> AsyncIterator[ProviderEvent]:
        """Yield ``start``, content events, then one ``done`` or ``error``."""
        ...


class Normalizer(ABC):
    """Turns one response's SSE events into normalized events.

    One instance per response attempt. ``feed`` returns the events an SSE event
    produced; ``finish`` is called at end of body and must return the terminal
    event if ``feed`` has not produced one. ``unterminated`` says the body ended
    inside an event (no final blank line), which the decoder does not dispatch.
    """

    @abstractmethod
    def feed(self, event: SSEEvent) -> list[StreamEvent]: ...

    @abstractmethod
    def finish(self, unterminated: bool) -> list[StreamEvent]: ...

    def retryable(self, error: Error) -> bool | None:
        """Whether an ``error`` this normalizer produced before any content may be retried.

        None lets the error's category decide (network, timeout, server and
        rate-limit errors are retried).
        """
        return None


Sleep = Callable[[float], Awaitable[None]]

_EVENTS_PER_TURN = 64
_RETRYABLE_CATEGORIES = frozenset({"network", "timeout", "server", "rate_limit"})


class _FailedBeforeContent(Exception):
    """Raised inside one attempt when it failed before delivering anything.

    ``retryable`` is None when only the error category can tell.
    """

    def __init__(
        self, error: Error, *, retryable: bool | None = None, start: Start | None = None
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.retryable = retryable
        self.start = start


class HttpProvider(ABC):
    """A provider reached over HTTP with an SSE response."""

    id: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(
        self,
        options: ProviderOptions,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options
        self._client = client
        self._sleep = sleep
        self._rng = rng or random.Random()

    # -- what each wire API defines ---------------------------------------------------------

    @abstractmethod
    def url(self, request: Request) -> str:
        """The full URL to POST to."""

    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """Headers carrying the API key (empty when there is none)."""

    @abstractmethod
    def body(self, request: Request) -> dict[str, Any]:
        """The JSON body for ``request``."""

    @abstractmethod
    def normalizer(self, request: Request) -> Normalizer:
        """A fresh normalizer for one response."""

    def error_from_response(self, status: int, headers: Mapping[str, str], body: bytes) -> Error:
        """Classify a non-2xx response; providers override for vendor quirks."""
        return errors.error_from_http(status, headers, body)

    def model_warning(self, model: str) -> str | None:
        """A warning when ``model`` is unknown to this provider's model table."""
        return None

    def adjust_after_error(self, request: Request, error: Error) -> bool:
        """Change how ``request`` is sent after ``error``; True to resend at once.

        Lets a provider react to a refusal it can work around (for instance a
        feature the account may not use) without counting it as a retry.
        """
        return False

    # -- the shared machinery ---------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        headers.update(self.auth_headers())
        headers.update(self.options.headers)
        return headers

    async def stream(self, request: Request) -> AsyncIterator[ProviderEvent]:
        """Stream one response, retrying failed attempts that delivered nothing."""
        max_retries = max(0, self.options.max_retries)
        retries = 0
        while True:
            try:
                async for batch in self._attempt(request):
                    for position, event in enumerate(batch, 1):
                        yield event
                        if position % _EVENTS_PER_TURN == 0:
                            # A fast stream arrives in large chunks; give the
                            # event loop a turn (key presses, repaints) now and then.
                            await asyncio.sleep(0)
                return
            except _FailedBeforeContent as failure:
                error = failure.error
                if self.adjust_after_error(request, error):
                    continue
                if retries >= max_retries or not self._may_retry(failure):
                    yield failure.start or Start(request.model)
                    yield error
                    return
                retries += 1
                delay = self._delay_seconds(retries, error.retry_after_ms)
                yield Retry(
                    retries,
                    max_retries,
                    round(delay * 1000),
                    error.category,
                    error.message,
                    error.http_status,
                )
                await self._sleep(delay)

    @staticmethod
    def _may_retry(failure: _FailedBeforeContent) -> bool:
        if failure.retryable is not None:
            return failure.retryable
        return failure.error.category in _RETRYABLE_CATEGORIES

    def _delay_seconds(self, retry: int, retry_after_ms: int | None) -> float:
        if retry_after_ms is not None and 0 < retry_after_ms <= errors.MAX_HONOURED_RETRY_AFTER_MS:
            return retry_after_ms / 1000
        backoff: float = self.options.retry_base_delay * 2.0 ** (retry - 1)
        backoff = min(backoff, self.options.retry_max_delay)
        return backoff * (0.5 + self._rng.random() / 2)

    async def _attempt(self, request: Request) -> AsyncIterator[list[StreamEvent]]:
        """One HTTP attempt, in batches of events (one per network chunk).

        Raises ``_FailedBeforeContent`` if it failed before delivering an event.
        """
        url = self.url(request)
        client = self._client or shared_client(url)
        payload = json.dumps(self.body(request), ensure_ascii=False).encode()
        order = _ContractOrder(request.model)
        try:
            async with client.stream(
                "POST",
                url,
                content=payload,
                headers=self.headers(),
                timeout=self.options.timeout(),
            ) as response:
                if response.status_code >= 300:
                    body = await response.aread()
                    error = self.error_from_response(response.status_code, response.headers, body)
                    raise _FailedBeforeContent(
                        error, retryable=errors.is_retryable(error, response.headers, body)
                    )
                normalizer = self.normalizer(request)
                order.normalizer = normalizer
                decoder = SSEDecoder()
                async for chunk in response.aiter_bytes():
                    batch: list[StreamEvent] = []
                    for sse in decoder.feed(chunk):
                        order.admit(normalizer.feed(sse), batch)
                        if order.finished:
                            break
                    if batch:
                        yield batch
                    if order.finished:
                        return
                batch = []
                order.admit(normalizer.finish(decoder.pending), batch)
                if batch:
                    yield batch
                if not order.finished:
                    raise httpx.RemoteProtocolError("the stream ended without a final event")
        except _FailedBeforeContent:
            raise
        except (httpx.HTTPError, OSError) as exc:
            error = errors.error_from_exception(exc, url)
            if not order.delivered:
                raise _FailedBeforeContent(error, start=order.held_start) from exc
            yield [error]


class _ContractOrder:
    """Puts a normalizer's events in the contract's order for one attempt.

    ``start`` is held back until the next event, so that an attempt failing
    before any content can still be retried; nothing passes after the first
    ``done`` or ``error``.
    """

    __slots__ = ("delivered", "finished", "held_start", "model", "normalizer")

    def __init__(self, model: str) -> None:
        self.model = model
        self.held_start: Start | None = None
        self.delivered = False
        self.finished = False
        self.normalizer: Normalizer | None = None

    def admit(self, events: list[StreamEvent], out: list[StreamEvent]) -> None:
        for event in events:
            kind = type(event)
            if kind is Start:
                if self.held_start is None and not self.delivered:
                    self.held_start = event  # type: ignore[assignment]
                continue
            if not self.delivered:
                if kind is Error:
                    assert isinstance(event, Error)
                    retryable = self.normalizer.retryable(event) if self.normalizer else None
                    raise _FailedBeforeContent(event, retryable=retryable, start=self.held_start)
                out.append(self.held_start or Start(self.model))
                self.delivered = True
            out.append(event)
            if kind is Done or kind is Error:
                self.finished = True
                return
