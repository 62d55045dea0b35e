"""Classifying failures into the contract's error categories.

HTTP statuses, vendor error bodies (OpenAI, Anthropic, Gemini and compatible
servers all nest a ``message`` under ``error``), retry-after headers and
transport exceptions all end up here, so every provider reports failures the
same way.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ikigai.providers.events import Error, ErrorCategory

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_HONOURED_RETRY_AFTER_MS = 60_000

_CATEGORY_BY_STATUS: dict[int, ErrorCategory] = {
    400: "invalid_arg",
    401: "auth",
    403: "auth",
    404: "not_found",
    408: "timeout",
    409: "server",
    413: "invalid_arg",
    422: "invalid_arg",
    429: "rate_limit",
    504: "timeout",
}

_CATEGORY_BY_CODE: dict[str, ErrorCategory] = {
    # OpenAI / compatible `error.type` or `error.code`
    "invalid_request_error": "invalid_arg",
    "invalid_api_key": "auth",
    "authentication_error": "auth",
    "permission_error": "auth",
    "permission_denied": "auth",
    "unauthenticated": "auth",
    "insufficient_quota": "rate_limit",
    "rate_limit_exceeded": "rate_limit",
    "rate_limit_error": "rate_limit",
    "resource_exhausted": "rate_limit",
    "not_found_error": "not_found",
    "not_found": "not_found",
    "model_not_found": "not_found",
    "server_error": "server",
    "api_error": "server",
    "overloaded_error": "server",
    "internal": "server",
    "unavailable": "server",
    "timeout_error": "timeout",
    "deadline_exceeded": "timeout",
    "invalid_argument": "invalid_arg",
    "failed_precondition": "invalid_arg",
    "content_filter": "content_filter",
    "content_policy_violation": "content_filter",
}

# Error codes that mean "retrying will not help" even though the status says otherwise.
NON_RETRYABLE_CODES = frozenset({"insufficient_quota", "enforced_spend_limit_reached"})


def category_for_status(status: int) -> ErrorCategory:
    """The category of an HTTP failure status."""
    if status in _CATEGORY_BY_STATUS:
        return _CATEGORY_BY_STATUS[status]
    if status >= 500:
        return "server"
    if 400 <= status < 500:
        return "invalid_arg"
    return "unknown"


def category_for_code(code: object, default: ErrorCategory = "unknown") -> ErrorCategory:
    """The category named by a vendor error ``type``/``code``/``status`` value."""
    if isinstance(code, int) and not isinstance(code, bool):
        return category_for_status(code) if code >= 400 else default
    if isinstance(code, str):
        if code.isdigit():
            return category_for_code(int(code), default)
        return _CATEGORY_BY_CODE.get(code.lower(), default)
    return default


def parse_retry_after_ms(headers: Mapping[str, str], now: float | None = None) -> int | None:
    """Milliseconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms)
        except ValueError:
            value = -1.0
        if value >= 0:
            return round(value)
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    return max(0, round(seconds * 1000))


def parse_retry_delay(text: object) -> int | None:
    """Milliseconds from a Google ``RetryInfo.retryDelay`` such as ``"34.4s"``."""
    if not isinstance(text, str) or not text.endswith("s"):
        return None
    try:
        return max(0, round(float(text[:-1]) * 1000))
    except ValueError:
        return None


def error_details(payload: object) -> tuple[str | None, list[str], int | None]:
    """Message, candidate codes and a body-provided retry delay from a vendor error body."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, dict):
        return None, [], None
    err: Any = payload.get("error", payload)
    if isinstance(err, str):
        return err, [], None
    if not isinstance(err, dict):
        return None, [], None
    message = err.get("message")
    codes: list[str] = []
    for key in ("code", "type", "status"):
        value = err.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            codes.append(str(value))
    metadata = err.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("raw"), str):
        # OpenRouter puts the upstream provider's explanation here.
        message = f"{message}: {metadata['raw']}" if isinstance(message, str) else metadata["raw"]
    retry_ms = None
    for detail in err.get("details") or []:
        if isinstance(detail, dict):
            if "retryDelay" in detail:
                retry_ms = parse_retry_delay(detail["retryDelay"])
            nested = detail.get("error_code")
            if isinstance(nested, str):
                codes.append(nested)
    return (message if isinstance(message, str) else None), codes, retry_ms


def error_from_http(status: int, headers: Mapping[str, str], body: bytes) -> Error:
    """An ``Error`` event for a non-2xx response with the given body."""
    try:
        payload: object = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None
    message, codes, body_retry_ms = error_details(payload)
    category = category_for_status(status)
    if status in (400, 403, 404) or category in ("invalid_arg", "unknown"):
        for code in codes:
            refined = category_for_code(code, category)
            if refined in ("content_filter", "auth", "not_found", "rate_limit"):
                category = refined
                break
    if not message:
        text = body.decode("utf-8", "replace").strip()
        message = text[:300] if text else httpx.codes.get_reason_phrase(status) or "error"
    retry_after = parse_retry_after_ms(headers)
    if retry_after is None:
        retry_after = body_retry_ms
    return Error(category, f"HTTP {status}: {message}", status, retry_after)


def error_from_payload(payload: object, default: ErrorCategory = "unknown") -> Error:
    """An ``Error`` event for an error object that arrived inside a stream."""
    message, codes, retry_ms = error_details(payload)
    category: ErrorCategory = default
    status: int | None = None
    for code in codes:
        if code.isdigit() and status is None:
            status = int(code)
        refined = category_for_code(code)
        if refined != "unknown":
            category = refined
            break
    return Error(category, message or "the provider reported an error", status, retry_ms)


def is_retryable(error: Error, headers: Mapping[str, str] | None, body: bytes = b"") -> bool:
    """Whether a failed *request* (no event delivered yet) may be tried again."""
    if headers is not None:
        should = headers.get("x-should-retry")
        if should == "true":
            return True
        if should == "false":
            return False
    if error.http_status is None:
        return error.category in ("network", "timeout")
    if error.http_status not in RETRYABLE_STATUSES and error.http_status < 500:
        return False
    if body:
        try:
            _, codes, _ = error_details(json.loads(body))
        except (ValueError, RecursionError):
            codes = []
        if NON_RETRYABLE_CODES.intersection(codes):
            return False
    return not (
        error.retry_after_ms is not None and error.retry_after_ms > MAX_HONOURED_RETRY_AFTER_MS
    )


def error_from_exception(exc: BaseException, url: str | None = None) -> Error:
    """An ``Error`` event for a transport failure (no HTTP status); names ``url`` if given."""
    error = _error_from_exception(exc)
    if url and error.category in ("network", "timeout"):
        return Error(error.category, f"{error.message} ({url})")
    return error


def _error_from_exception(exc: BaseException) -> Error:
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Error("invalid_arg", f"invalid URL: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        kind = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for data",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a connection",
        }.get(type(exc), "waiting")
        return Error("timeout", f"timed out {kind}")
    if isinstance(exc, httpx.LocalProtocolError):
        # The request itself could not be written (a header the HTTP layer
        # refuses): sending it again cannot help.
        return Error("invalid_arg", f"the request could not be sent: {exc}")
    if isinstance(exc, httpx.ConnectError):
        return Error("network", f"cannot connect: {exc or 'connection refused'}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return Error("network", f"connection closed by the server: {exc}")
    if isinstance(exc, (httpx.TransportError, OSError)):
        return Error("network", f"network error: {exc or type(exc).__name__}")
    return Error("unknown", f"{type(exc).__name__}: {exc}")
