"""Failure classification and retry-after parsing."""

from __future__ import annotations

import email.utils
import json

import httpx
import pytest

from ikigai.providers.errors import (
    error_from_exception,
    error_from_http,
    error_from_payload,
    is_retryable,
    parse_retry_after_ms,
)


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert parse_retry_after_ms({"retry-after-ms": "1500.4", "retry-after": "9"}) == 1500


def test_retry_after_seconds_and_fractions() -> None:
    assert parse_retry_after_ms({"retry-after": "3"}) == 3000
    assert parse_retry_after_ms({"retry-after": "0.25"}) == 250


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after_ms({"retry-after": header}, now=now) == 42_000


def test_retry_after_garbage_and_absent() -> None:
    assert parse_retry_after_ms({"retry-after": "soon"}) is None
    assert parse_retry_after_ms({}) is None


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, "invalid_arg"),
        (401, "auth"),
        (403, "auth"),
        (404, "not_found"),
        (408, "timeout"),
        (422, "invalid_arg"),
        (429, "rate_limit"),
        (500, "server"),
        (503, "server"),
        (504, "timeout"),
        (529, "server"),
    ],
)
def test_status_categories(status: int, category: str) -> None:
    assert error_from_http(status, {}, b"").category == category


def test_body_message_and_code_refine_the_category() -> None:
    body = json.dumps({"error": {"type": "content_policy_violation", "message": "nope"}}).encode()
    error = error_from_http(400, {}, body)
    assert (error.category, error.message) == ("content_filter", "HTTP 400: nope")


def test_gemini_retry_info_feeds_retry_after() -> None:
    body = json.dumps(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "quota",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}
                ],
            }
        }
    ).encode()
    assert error_from_http(429, {}, body).retry_after_ms == 34_400


def test_insufficient_quota_is_not_retryable() -> None:
    body = json.dumps({"error": {"code": "insufficient_quota", "message": "pay up"}}).encode()
    error = error_from_http(429, {}, body)
    assert error.category == "rate_limit"
    assert not is_retryable(error, {}, body)
    assert is_retryable(error_from_http(429, {}, b""), {}, b"")


def test_x_should_retry_overrides() -> None:
    error = error_from_http(400, {}, b"")
    assert is_retryable(error, {"x-should-retry": "true"})
    assert not is_retryable(error_from_http(503, {}, b""), {"x-should-retry": "false"})


def test_non_json_body_is_quoted() -> None:
    error = error_from_http(502, {}, b"<html>Bad Gateway</html>")
    assert error.message == "HTTP 502: <html>Bad Gateway</html>"


def test_payload_with_numeric_code() -> None:
    error = error_from_payload({"error": {"code": 400, "message": "Token limit reached"}})
    assert (error.category, error.http_status) == ("invalid_arg", 400)


def test_exceptions() -> None:
    request = httpx.Request("GET", "http://x")
    assert error_from_exception(httpx.ReadTimeout("t", request=request)).category == "timeout"
    assert error_from_exception(httpx.ConnectError("refused")).category == "network"
    assert error_from_exception(httpx.UnsupportedProtocol("ftp")).category == "invalid_arg"
    assert "http://x/y" in error_from_exception(httpx.ReadError("boom"), "http://x/y").message


def test_deeply_nested_error_bodies_do_not_raise() -> None:
    error = error_from_http(500, {}, b"[" * 200_000)
    assert error.category == "server" and error.message.startswith("HTTP 500: [[[")
    assert is_retryable(error, {}, b"[" * 200_000)
