"""Header values that cannot be sent are named, never shown; secrets are masked in messages."""

from __future__ import annotations

import h11
import httpx
import pytest

from ikigai.providers.errors import error_from_exception
from ikigai.providers.headers import (
    MASK,
    SecretMasker,
    check_header_values,
    validate_api_key,
    validate_header,
)
from ikigai.providers.http import ProviderOptions

KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (KEY + "\r", ["OPENAI_API_KEY", "carriage return", "at its end", "Windows line ends"]),
        (KEY + "\n", ["OPENAI_API_KEY", "line feed", "at its end", "line end"]),
        (KEY[:5] + "\u00e9" + KEY[5:], ["non-ASCII character (U+00E9)", "position 6 of"]),
        (KEY[:5] + "\u2013" + KEY[5:], ["non-ASCII character (U+2013)"]),
        (" " + KEY, ["a space", "at its start"]),
        (KEY[:4] + " " + KEY[4:], ["a space", "position 5"]),
        (KEY + "\x00", ["NUL byte"]),
        ("\ufeff" + KEY, ["byte order mark"]),
        ("", ["OPENAI_API_KEY is empty"]),
    ],
)
def test_a_key_that_cannot_be_sent_is_named_not_shown(value: str, words: list[str]) -> None:
    problem = validate_api_key(value, "OPENAI_API_KEY")
    assert problem is not None
    for word in words:
        assert word in problem
    assert KEY[3:9] not in problem and KEY[-6:] not in problem


def test_a_printable_key_is_accepted() -> None:
    assert validate_api_key(KEY, "OPENAI_API_KEY") is None
    assert validate_api_key("x", "LOCAL_KEY") is None  # any non-empty key on loopback


def test_header_values_may_hold_inner_spaces_but_nothing_unsendable() -> None:
    assert validate_header("X-Title", "my app 1.0") is None
    problem = validate_header("X-Org", "org-secret-42\r")
    assert problem is not None and "'X-Org'" in problem and "org-secret" not in problem
    problem = validate_header("X Bad", "v")
    assert problem is not None and "not a valid HTTP header name" in problem
    assert validate_header("X-Trailing", "value ") is not None


def test_check_header_values_lists_every_problem() -> None:
    options = ProviderOptions(
        base_url="https://api.example.com",
        api_key=KEY + "\r",
        headers={"X-Fine": "ok", "X-Bad": "caf\u00e9-token"},
    )
    problems = check_header_values(options, "ANTHROPIC_API_KEY")
    assert len(problems) == 2
    assert problems[0].startswith("ANTHROPIC_API_KEY contains a carriage return")
    assert "'X-Bad'" in problems[1]
    assert check_header_values(ProviderOptions(base_url="http://x", api_key=KEY)) == []
    unnamed = check_header_values(ProviderOptions(base_url="http://x", api_key=KEY + "\r"))
    assert unnamed[0].startswith("the API key contains")


def test_the_http_layers_own_message_is_masked() -> None:
    """h11 quotes the whole header when it refuses it; the masker hides the key in it."""
    with pytest.raises(h11.LocalProtocolError) as caught:
        h11.Request(
            method="POST",
            target="/",
            headers=[("host", "example.com"), ("authorization", f"Bearer {KEY}\r")],
        )
    raw = str(caught.value)
    assert KEY in raw  # what would have been printed
    masked = SecretMasker([KEY + "\r"]).mask(raw)
    assert KEY not in masked and MASK in masked


def test_transport_errors_about_the_request_are_invalid_arg_and_masked() -> None:
    exc = httpx.LocalProtocolError(f"Illegal header value b'Bearer {KEY}\\r'")
    error = error_from_exception(exc, "https://api.example.com/v1/responses")
    assert error.category == "invalid_arg"
    masker = SecretMasker.for_options(
        ProviderOptions(base_url="https://api.example.com", api_key=KEY + "\r")
    )
    assert KEY not in masker.mask(error.message) and MASK in masker.mask(error.message)


@pytest.mark.parametrize(
    "quoted",
    [
        KEY,
        repr(KEY + "\r"),
        repr((KEY[:5] + "\u00e9" + KEY[5:]).encode()),
        '{"key": "' + KEY + '"}',
        f"Bearer {KEY}",
    ],
)
def test_every_quoted_form_of_a_secret_is_masked(quoted: str) -> None:
    masker = SecretMasker([KEY + "\r", KEY[:5] + "\u00e9" + KEY[5:]])
    masked = masker.mask(f"the server said: {quoted}!")
    assert masked.startswith("the server said: ") and masked.endswith("!")
    assert MASK in masked
    assert "Ab12Cd34" not in masked and "Gh78Ij90" not in masked


def test_short_placeholders_are_not_masked() -> None:
    """A loopback key such as ``k`` would otherwise garble every message."""
    masker = SecretMasker(["k", "1234567"])
    assert masker.mask("network error: keep 1234567") == "network error: keep 1234567"


def test_configured_headers_and_url_passwords_are_masked() -> None:
    options = ProviderOptions(
        base_url="https://user:url-password-77@proxy.example.com/v1",
        api_key=None,
        headers={"X-Team-Token": "team-token-value-01"},
    )
    masker = SecretMasker.for_options(options)
    text = "failed for team-token-value-01 at https://user:url-password-77@proxy.example.com"
    masked = masker.mask(text)
    assert "team-token-value-01" not in masked and "url-password-77" not in masked
    assert masked.count(MASK) == 2
