"""Model lists of the four APIs over real sockets, and what a server may answer instead."""

from __future__ import annotations

from typing import Any

import pytest

from ikigai.providers.http import ProviderOptions
from ikigai.providers.listing import ListedModel, ListingError, describe, known_models, list_models
from tests.fakeserver import FakeServer, Raw, http_error
from tests.fakeserver.models import anthropic_models, gemini_models, openai_models

SECRET = "sk-listing-Qz81LmP0"
PROVIDERS = ("openai", "openai-chat", "anthropic", "google")


def options(server: FakeServer, provider: str, **kw: Any) -> ProviderOptions:
    return ProviderOptions(
        base_url=server.base_url(provider), api_key=SECRET, read_timeout=5.0, **kw
    )


def listing(provider: str, *ids: str) -> Raw:
    if provider == "anthropic":
        return anthropic_models(*ids)
    if provider == "google":
        return gemini_models(*ids)
    return openai_models(*ids)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_each_api_lists_its_models_with_its_own_request(
    fake_server: FakeServer, provider: str
) -> None:
    fake_server.enqueue(listing(provider, "model-b", "model-a"))
    models = await list_models(provider, options(fake_server, provider))
    assert [m.id for m in models] == ["model-b", "model-a"]
    request = fake_server.requests[-1]
    assert request.method == "GET"
    expected_path = {
        "openai": "/v1/models",
        "openai-chat": "/v1/models",
        "anthropic": "/v1/models",
        "google": "/v1beta/models",
    }[provider]
    assert request.path == expected_path
    headers = request.headers
    if provider == "anthropic":
        assert headers["x-api-key"] == SECRET and headers["anthropic-version"]
        assert "limit=1000" in request.query
    elif provider == "google":
        assert headers["x-goog-api-key"] == SECRET
    else:
        assert headers["authorization"] == f"Bearer {SECRET}"


async def test_compatible_server_shape_of_ollama_and_vllm(fake_server: FakeServer) -> None:
    body = (
        b'{"object":"list","data":[{"id":"llama3.2:latest","object":"model",'
        b'"created":1730000000,"owned_by":"library"},{"id":"qwen3:8b","object":"model",'
        b'"created":1730000001,"owned_by":"library","max_model_len":32768}]}'
    )
    fake_server.enqueue(Raw(body, content_type="application/json"))
    models = await list_models("openai-chat", options(fake_server, "openai-chat"))
    assert models == [ListedModel("llama3.2:latest"), ListedModel("qwen3:8b")]


async def test_anthropic_pages_with_after_id(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        anthropic_models("claude-opus-4-7", "claude-sonnet-4-6", has_more=True),
        anthropic_models("claude-haiku-4-5"),
    )
    models = await list_models("anthropic", options(fake_server, "anthropic"))
    assert [m.id for m in models] == ["claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"]
    assert "after_id=claude-sonnet-4-6" in fake_server.requests[1].query
    assert models[0].display_name == "Claude Opus 4 7"


async def test_gemini_pages_and_leaves_out_models_that_cannot_chat(
    fake_server: FakeServer,
) -> None:
    embedding = {
        "name": "models/gemini-embedding-001",
        "supportedGenerationMethods": ["embedContent"],
    }
    fake_server.enqueue(
        gemini_models("gemini-2.5-flash", embedding, next_page="page-2"),
        gemini_models("gemini-3-pro-preview"),
    )
    models = await list_models("google", options(fake_server, "google"))
    assert [m.id for m in models] == ["gemini-2.5-flash", "gemini-3-pro-preview"]
    assert models[0].input_limit == 1_048_576 and models[0].output_limit == 65_536
    assert "pageToken=page-2" in fake_server.requests[1].query


async def test_404_is_unsupported(fake_server: FakeServer) -> None:
    # Nothing queued: the fake answers a model-list request with 404.
    with pytest.raises(ListingError) as caught:
        await list_models("openai-chat", options(fake_server, "openai-chat"))
    assert caught.value.unsupported and caught.value.http_status == 404


async def test_html_page_is_unsupported(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        Raw(b"<!doctype html><html><body>Welcome</body></html>", content_type="text/html")
    )
    with pytest.raises(ListingError, match="HTML") as caught:
        await list_models("openai-chat", options(fake_server, "openai-chat"))
    assert caught.value.unsupported


async def test_other_json_shape_is_unsupported(fake_server: FakeServer) -> None:
    fake_server.enqueue(Raw(b'{"status": "ok"}', content_type="application/json"))
    with pytest.raises(ListingError, match="not a model list") as caught:
        await list_models("openai", options(fake_server, "openai"))
    assert caught.value.unsupported


async def test_401_is_auth_and_never_quotes_the_key(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        http_error(401, body={"error": {"message": f"Incorrect API key provided: {SECRET}"}})
    )
    with pytest.raises(ListingError) as caught:
        await list_models("openai", options(fake_server, "openai"))
    assert caught.value.category == "auth" and not caught.value.unsupported
    assert SECRET not in str(caught.value)


async def test_unreachable_server_is_a_network_error() -> None:
    dead = ProviderOptions(base_url="http://127.0.0.1:9/v1", api_key="k", connect_timeout=2.0)
    with pytest.raises(ListingError) as caught:
        await list_models("openai-chat", dead)
    assert caught.value.category == "network" and not caught.value.unsupported


async def test_hostile_ids_are_dropped(fake_server: FakeServer) -> None:
    body = (
        b'{"data":[{"id":"ok-model"},{"id":"\\u001b[2Jwipe"},{"id":""},{"id":42},'
        b'{"id":"has space"},{"id":"' + b"x" * 500 + b'"},{"id":"ok-model"}]}'
    )
    fake_server.enqueue(Raw(body, content_type="application/json"))
    models = await list_models("openai-chat", options(fake_server, "openai-chat"))
    assert [m.id for m in models] == ["ok-model"]


def test_known_models_and_descriptions_come_from_the_provider_tables() -> None:
    assert "claude-opus-4-7" in known_models("anthropic")
    assert "claude-3-5-sonnet" not in known_models("anthropic")  # a family, not an id
    assert "gpt-5." not in known_models("openai")
    spec, known = describe("anthropic", "claude-opus-4-7-20260416")
    assert (spec.thinking, spec.sampling, known) == ("adaptive", False, True)
    spec, known = describe("google", "models/gemini-2.5-pro")
    assert (spec.thinking, known) == ("budget", True)
    _spec, known = describe("openai-chat", "llama3.2")
    assert known is False
