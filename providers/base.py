"""The provider interface and the shared HTTP streaming machinery.

A concrete provider says how to build its URL, headers and body, and gives a
``Normalizer`` that turns its SSE events into normalized events. ``HttpProvider``
does the rest, identically for every wire API:

* refuse to send a key or header value the HTTP layer would reject (a ``\\r``
  from a CRLF file, a non-ASCII character), with a message that never quotes
  it; mask the key and configured header values in every error and retry
  message, whatever produced it;
* POST the request on the shared client; a non-2xx answer is read (at most
  ``_ERROR_BODY_LIMIT`` bytes) and classified, never streamed;
* check that a 200 body is an event stream: one that begins like JSON or HTML
  is a clear error, not retried;
* decode the body incrementally (one event capped at ``max_event_bytes``) and
  feed each SSE event to the normalizer;
* bound every wait: the response headers within ``connect_timeout +
  read_timeout``, then each *complete event* within ``read_timeout`` of the
  previous one (bytes that never finish an event do not count, so a 1-byte/s
  drip fails like silence);
* enforce the contract's order: ``start`` first, exactly one ``done`` or
  ``error`` last, nothing after it;
* retry a failed request with exponential backoff and jitter, but only while no
  event has reached the caller. ``start`` is held back until the next event so
  that a connection dropped right after the response headers is still retried.
  A stall (no headers, or no event, within ``read_timeout``) is not retried
  unless ``stall_retries`` allows it: the server took the request and is not
  answering, and waiting for it again would multiply the wait.
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
from ikigai.providers.headers import SecretMasker, check_header_values
from ikigai.providers.http import ProviderOptions, shared_client
from ikigai.providers.normalizer import NOT_AN_EVENT_STREAM, Normalizer
from ikigai.providers.request import Request
from ikigai.providers.sse import EventTooLarge, SSEDecoder

__all__ = ["HttpProvider", "Normalizer", "Provider", "Sleep"]


class Provider(Protocol):
    """Anything that can stream a response to a ``Request``."""

    @property
    def id(self) -> str:
        """The provider id (``openai``, ``anthropic``, ...)."""
        ...

    def stream(self, request: Request) -> AsyncIterator[ProviderEvent]:
        """Yield ``start``, content events, then one ``done`` or ``error``."""
        ...


Sleep = Callable[[float], Awaitable[None]]

_EVENTS_PER_TURN = 64
_RETRYABLE_CATEGORIES = frozenset({"network", "timeout", "server", "rate_limit"})
_ERROR_BODY_LIMIT = 1024 * 1024
"""At most this much of a non-2xx body (or a 200 that is not a stream) is read."""
_EXCERPT = 200
_NOT_SSE_START = frozenset(b"{[<")
_LIST_HEADERS = frozenset({"anthropic-beta"})
"""Headers whose value is a comma-separated list: configured values join the request's."""


class _FailedBeforeContent(Exception):
    """Raised inside one attempt when it failed before delivering anything.

    ``retryable`` is None when only the error category can tell; ``stall``
    marks a wait that ran out (retried only as ``stall_retries`` allows).
    """

    def __init__(
        self,
        error: Error,
        *,
        retryable: bool | None = None,
        start: Start | None = None,
        stall: bool = False,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.retryable = retryable
        self.start = start
        self.stall = stall


class _Stalled(Exception):
    """The body produced no complete event within the idle timeout."""


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

    def request_headers(self, request: Request) -> dict[str, str]:
        """Headers that depend on the request (a beta feature for this model, say)."""
        return {}

    def adjust_after_error(self, request: Request, error: Error) -> bool:
        """Change how ``request`` is sent after ``error``; True to resend at once.

        Lets a provider react to a refusal it can work around (for instance a
        feature the account may not use) without counting it as a retry.
        """
        return False

    # -- the shared machinery ---------------------------------------------------------------

    def headers(self, request: Request | None = None) -> dict[str, str]:
        """Every header of a request: the fixed ones, the request's own, the configured ones.

        A configured header that the request also sets (``anthropic-beta``, say)
        keeps both values, comma-separated, as HTTP lists are.
        """
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        headers.update(self.auth_headers())
        if request is not None:
            headers.update(self.request_headers(request))
        for name, value in self.options.headers.items():
            lower = name.lower()
            ours = headers.get(lower)
            if ours and lower in _LIST_HEADERS and value not in ours.split(","):
                headers[lower] = f"{ours},{value}"
            else:
                headers[name] = value
        return headers

    def sse_decoder(self) -> SSEDecoder:
        """A fresh decoder for one response body, capped at ``max_event_bytes``."""
        return SSEDecoder(self.options.max_event_bytes)

    async def stream(self, request: Request) -> AsyncIterator[ProviderEvent]:
        """Stream one response, retrying failed attempts that delivered nothing."""
        masker = SecretMasker.for_options(self.options)
        problems = check_header_values(self.options)
        if problems:
            # Never sent: the HTTP layer would fail quoting the whole header.
            yield Start(request.model)
            yield Error("invalid_arg", f"the request cannot be sent: {'; '.join(problems)}")
            return
        max_retries = max(0, self.options.max_retries)
        retries = 0
        stalls = 0
        while True:
            try:
                async for batch in self._attempt(request, masker):
                    for position, event in enumerate(batch, 1):
                        yield event
                        if position % _EVENTS_PER_TURN == 0:
                            # A fast stream arrives in large chunks; give the
                            # event loop a turn (key presses, repaints) now and then.
                            await asyncio.sleep(0)
                return
            except _FailedBeforeContent as failure:
                error = _masked(failure.error, masker)
                if self.adjust_after_error(request, error):
                    continue
                if failure.stall:
                    may_retry = stalls < max(0, self.options.stall_retries)
                    stalls += 1
                else:
                    may_retry = self._may_retry(failure)
                if retries >= max_retries or not may_retry:
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

    async def _attempt(
        self, request: Request, masker: SecretMasker
    ) -> AsyncIterator[list[StreamEvent]]:
        """One HTTP attempt, in batches of events (one per network chunk).

        Raises ``_FailedBeforeContent`` if it failed before delivering an event.
        """
        url = self.url(request)
        client = self._client or shared_client(url)
        payload = json.dumps(self.body(request), ensure_ascii=False).encode()
        options = self.options
        order = _ContractOrder(request.model, masker)
        response: httpx.Response | None = None
        try:
            http_request = client.build_request(
                "POST",
                url,
                content=payload,
                headers=self.headers(request),
                timeout=options.timeout(),
            )
            try:
                # httpx's read timeout restarts with every byte; this bounds the
                # whole wait for the status line and headers.
                async with asyncio.timeout(options.connect_timeout + options.read_timeout):
                    response = await client.send(http_request, stream=True)
            except TimeoutError:
                seconds = options.connect_timeout + options.read_timeout
                error = Error(
                    "timeout", f"no response from the server within {seconds:g} s ({url})"
                )
                raise _FailedBeforeContent(error, stall=True) from None
            if response.status_code >= 300:
                body = await _read_capped(response.aiter_bytes(), b"", options.read_timeout)
                error = self.error_from_response(response.status_code, response.headers, body)
                raise _FailedBeforeContent(
                    error, retryable=errors.is_retryable(error, response.headers, body)
                )
            normalizer = self.normalizer(request)
            order.normalizer = normalizer
            async for batch in self._events(response, normalizer, order):
                yield batch
                if order.finished:
                    return
        except _FailedBeforeContent:
            raise
        except _Stalled as stalled:
            error = Error("timeout", str(stalled))
            if not order.delivered:
                raise _FailedBeforeContent(error, start=order.held_start, stall=True) from None
            yield [_masked(error, masker)]
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            error = errors.error_from_exception(exc, url)
            if not order.delivered:
                raise _FailedBeforeContent(
                    error, start=order.held_start, stall=isinstance(exc, httpx.ReadTimeout)
                ) from exc
            yield [_masked(error, masker)]
        finally:
            if response is not None:
                await response.aclose()

    async def _events(
        self, response: httpx.Response, normalizer: Normalizer, order: _ContractOrder
    ) -> AsyncIterator[list[StreamEvent]]:
        """The normalized events of a 200 body, one batch per network chunk."""
        loop = asyncio.get_running_loop()
        idle = self.options.read_timeout
        decoder = self.sse_decoder()
        chunks = response.aiter_bytes()
        deadline = loop.time() + idle
        sniffing = True
        bytes_since_event = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except (TimeoutError, httpx.ReadTimeout):
                raise _Stalled(_stall_message(idle, bytes_since_event, order.seen_event)) from None
            if sniffing:
                verdict = _looks_like_sse(chunk)
                if verdict is False:
                    body = await _read_capped(chunks, chunk, idle)
                    raise _FailedBeforeContent(
                        self._not_an_event_stream(response, body, normalizer), retryable=False
                    )
                sniffing = verdict is None
            too_large: EventTooLarge | None = None
            try:
                sse_events = decoder.feed(chunk)
            except EventTooLarge as exc:
                too_large = exc
                sse_events = exc.events
            if sse_events:
                deadline = loop.time() + idle
                bytes_since_event = 0
                order.seen_event = True
            else:
                bytes_since_event += len(chunk)
            batch: list[StreamEvent] = []
            for sse in sse_events:
                order.admit(normalizer.feed(sse), batch)
                if order.finished:
                    break
            if too_large is not None and not order.finished:
                error = Error(
                    "server",
                    f"the server sent an event larger than {too_large.limit:,} bytes "
                    "(max_event_bytes); the stream was ended",
                )
                order.admit([error], batch, retryable=False)
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

    def _not_an_event_stream(
        self, response: httpx.Response, body: bytes, normalizer: Normalizer
    ) -> Error:
        """The error for a 200 whose body is JSON or HTML rather than an event stream."""
        content_type = response.headers.get("content-type") or "no content type"
        text = body.decode("utf-8", "replace").strip()
        try:
            payload: object = json.loads(text)
        except (ValueError, RecursionError):
            payload = None
        if isinstance(payload, dict) and payload.get("error"):
            # A compatible server or proxy reporting a failure with status 200.
            inner = errors.error_from_payload(payload, "server")
            return Error(
                inner.category,
                f"{NOT_AN_EVENT_STREAM}: it answered {content_type} with an error: {inner.message}",
                None,
                inner.retry_after_ms,
            )
        hint = normalizer.not_an_event_stream_hint
        shown = " ".join(text.split())
        if len(shown) > _EXCERPT:
            shown = shown[:_EXCERPT] + "..."
        return Error(
            "server",
            f"{NOT_AN_EVENT_STREAM}: it answered {content_type}: {shown!r}"
            + (f"; {hint}" if hint else ""),
        )


def _masked(error: Error, masker: SecretMasker) -> Error:
    message = masker.mask(error.message)
    if message == error.message:
        return error
    return Error(error.category, message, error.http_status, error.retry_after_ms)


def _stall_message(seconds: float, bytes_since_event: int, seen_event: bool) -> str:
    if bytes_since_event:
        return (
            f"the server sent {bytes_since_event:,} bytes but no complete event in "
            f"{seconds:g} s (read_timeout); the stream was ended"
        )
    if not seen_event:
        return f"the server answered but sent no event in {seconds:g} s (read_timeout)"
    return f"the stream stalled: nothing from the server for {seconds:g} s (read_timeout)"


def _looks_like_sse(chunk: bytes) -> bool | None:
    """False when a body starting with ``chunk`` is JSON or HTML, None when it cannot tell yet.

    An SSE body starts with a field (``data:``, ``event:``, ...), a comment or
    a blank line; ``{``, ``[`` and ``<`` start no SSE line that means anything.
    """
    head = chunk.lstrip(b" \t\r\n")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip(b" \t\r\n")
    if not head:
        return None
    return head[0] not in _NOT_SSE_START


async def _read_capped(chunks: AsyncIterator[bytes], first: bytes, seconds: float) -> bytes:
    """``first`` and what follows of the body, at most ``_ERROR_BODY_LIMIT`` bytes.

    Gives up after ``seconds``: what arrived is enough to say what went wrong.
    """
    parts = [first[:_ERROR_BODY_LIMIT]]
    size = len(parts[0])
    try:
        async with asyncio.timeout(seconds):
            while size < _ERROR_BODY_LIMIT:
                chunk = await anext(chunks)
                parts.append(chunk[: _ERROR_BODY_LIMIT - size])
                size += len(parts[-1])
    except (StopAsyncIteration, TimeoutError, httpx.HTTPError):
        pass
    return b"".join(parts)


class _ContractOrder:
    """Puts a normalizer's events in the contract's order for one attempt.

    ``start`` is held back until the next event, so that an attempt failing
    before any content can still be retried; nothing passes after the first
    ``done`` or ``error``, and every error leaves with secrets masked.
    """

    __slots__ = (
        "delivered",
        "finished",
        "held_start",
        "masker",
        "model",
        "normalizer",
        "seen_event",
    )

    def __init__(self, model: str, masker: SecretMasker) -> None:
        self.model = model
        self.masker = masker
        self.held_start: Start | None = None
        self.delivered = False
        self.finished = False
        self.seen_event = False
        self.normalizer: Normalizer | None = None

    def admit(
        self, events: list[StreamEvent], out: list[StreamEvent], retryable: bool | None = None
    ) -> None:
        for event in events:
            kind = type(event)
            if kind is Start:
                if self.held_start is None and not self.delivered:
                    self.held_start = event  # type: ignore[assignment]
                continue
            if kind is Error:
                assert isinstance(event, Error)
                if not self.delivered:
                    if retryable is None and self.normalizer is not None:
                        retryable = self.normalizer.retryable(event)
                    raise _FailedBeforeContent(
                        _masked(event, self.masker), retryable=retryable, start=self.held_start
                    )
                event = _masked(event, self.masker)
            if not self.delivered:
                out.append(self.held_start or Start(self.model))
                self.delivered = True
            out.append(event)
            if kind is Done or kind is Error:
                self.finished = True
                return
