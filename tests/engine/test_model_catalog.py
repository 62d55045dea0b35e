"""``available_models`` / ``cached_models``: the server's list, the cache, the known list, facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ikigai.engine.model_catalog import (
    CACHE_SECONDS,
    available_models,
    cache_path,
    cached_models,
)
from ikigai.providers.http import ProviderOptions
from tests.fakeserver import FakeServer, http_error
from tests.fakeserver.models import openai_models


def options(server: FakeServer) -> ProviderOptions:
    return ProviderOptions(base_url=server.base_url("openai"), api_key="k", read_timeout=5.0)


async def test_facts_fill_in_window_and_prices(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.enqueue(openai_models("gpt-5.4", "ft:custom"))
    calls: list[tuple[str, str]] = []

    def facts(provider: str, model: str) -> dict[str, Any] | None:
        calls.append((provider, model))
        if model == "gpt-5.4":
            return {"context_window": 400_000, "input_cost": 1.25, "output_cost": 10.0, "x": 1}
        return None

    catalog = await available_models(
        "openai", options(fake_server), facts=facts, cache_dir=tmp_path
    )
    assert catalog.source == "server" and catalog.note is None
    by_id = {m.id: m for m in catalog.models}
    assert by_id["gpt-5.4"].context_window == 400_000
    assert (by_id["gpt-5.4"].input_cost, by_id["gpt-5.4"].output_cost) == (1.25, 10.0)
    assert by_id["gpt-5.4"].thinking == "effort" and by_id["gpt-5.4"].known
    assert by_id["ft:custom"].known is False and by_id["ft:custom"].input_cost is None
    assert sorted(calls) == [("openai", "ft:custom"), ("openai", "gpt-5.4")]
    assert catalog.ids() == ["openai/ft:custom", "openai/gpt-5.4"]


async def test_cache_is_used_while_fresh_and_kept_when_refresh_fails(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    clock = [1_000_000.0]
    fake_server.enqueue(openai_models("gpt-5.4"))
    first = await available_models(
        "openai", options(fake_server), cache_dir=tmp_path, now=lambda: clock[0]
    )
    assert first.source == "server"
    clock[0] += CACHE_SECONDS - 1
    again = await available_models(
        "openai", options(fake_server), cache_dir=tmp_path, now=lambda: clock[0]
    )
    assert again.source == "cache" and len(fake_server.requests) == 1
    clock[0] += 2  # stale now; the server fails
    fake_server.enqueue(http_error(500))
    stale = await available_models(
        "openai", options(fake_server), cache_dir=tmp_path, now=lambda: clock[0]
    )
    assert stale.source == "cache" and stale.error_category == "server"
    assert stale.note is not None and "fetched earlier" in stale.note
    assert [m.id for m in stale.models] == ["gpt-5.4"]


async def test_cached_models_never_asks_the_server(fake_server: FakeServer, tmp_path: Path) -> None:
    base = fake_server.base_url("openai")
    assert cached_models("openai", base, cache_dir=tmp_path).source == "known"
    fake_server.enqueue(openai_models("gpt-5.5"))
    await available_models("openai", options(fake_server), cache_dir=tmp_path)
    catalog = cached_models("openai", base, cache_dir=tmp_path)
    assert catalog.source == "cache" and catalog.ids() == ["openai/gpt-5.5"]
    assert len(fake_server.requests) == 1


async def test_a_corrupt_cache_file_is_ignored(fake_server: FakeServer, tmp_path: Path) -> None:
    base = fake_server.base_url("openai")
    path = cache_path("openai", base, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00not json")
    assert cached_models("openai", base, cache_dir=tmp_path).source == "known"
    fake_server.enqueue(openai_models("gpt-5.4"))
    catalog = await available_models("openai", options(fake_server), cache_dir=tmp_path)
    assert catalog.source == "server"


async def test_cache_file_has_no_credentials(fake_server: FakeServer, tmp_path: Path) -> None:
    base = fake_server.base_url("openai").replace("http://", "http://user:hunter2@")
    fake_server.enqueue(openai_models("gpt-5.4"))
    catalog = await available_models(
        "openai", ProviderOptions(base_url=base, api_key="sk-Zq19"), cache_dir=tmp_path
    )
    assert catalog.source == "server" and "hunter2" not in catalog.base_url
    written = cache_path("openai", base, tmp_path).read_bytes()
    assert b"hunter2" not in written and b"sk-Zq19" not in written
    assert b"gpt-5.4" in written
