"""The model facts table: lookups, snapshots, config overrides and prices."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ikigai.providers.events import Usage
from ikigai.providers.model_facts import (
    BUILTIN,
    builtin_models,
    facts,
)


@dataclass(frozen=True)
class Override:
    """A ``[models."<id>"]`` table as the engine's settings hold it."""

    context_window: int | None = None
    max_output_tokens: int | None = None
    input_cost: float | None = None
    cached_input_cost: float | None = None
    output_cost: float | None = None


def test_a_known_model_has_its_window_and_prices() -> None:
    sonnet = facts("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None
    assert (sonnet.context_window, sonnet.max_output_tokens) == (200_000, 64_000)
    assert (sonnet.input_cost, sonnet.cached_input_cost, sonnet.output_cost) == (3.0, 0.3, 15.0)


def test_a_dated_snapshot_shares_its_models_row_unless_listed() -> None:
    dated = facts("anthropic", "claude-sonnet-4-5-20250929")
    assert dated == facts("anthropic", "claude-sonnet-4-5")
    assert facts("openai", "gpt-4o-2024-08-06") == facts("openai", "gpt-4o")
    old = facts("openai", "gpt-4o-2024-05-13")
    assert old is not None and (old.input_cost, old.output_cost) == (5.0, 15.0)
    assert facts("google", "models/gemini-2.5-flash") == facts("google", "gemini-2.5-flash")


def test_facts_belong_to_the_providers_that_serve_the_model() -> None:
    assert facts("openai-chat", "gpt-4o") == facts("openai", "gpt-4o") is not None
    assert facts("anthropic", "gpt-4o") is None
    assert facts("openai-chat", "llama3.2") is None
    assert facts("anthropic", "claude-sonnet-4-5-experimental") is None
    assert "claude-haiku-4-5" in builtin_models("anthropic")
    assert "claude-haiku-4-5" not in builtin_models("google")


def test_every_row_is_plausible() -> None:
    for row in BUILTIN:
        known = row.facts
        assert known.context_window and known.max_output_tokens, row.model
        assert known.max_output_tokens <= known.context_window, row.model
        if known.priced:
            assert known.input_cost is not None and known.output_cost is not None
            assert 0 <= known.input_cost <= known.output_cost, row.model
            if known.cached_input_cost is not None:
                assert known.cached_input_cost <= known.input_cost, row.model


def test_cost_prices_fresh_cached_and_output_tokens() -> None:
    sonnet = facts("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None
    usage = Usage(input_tokens=10_000, output_tokens=2_000, cached_tokens=4_000)
    assert sonnet.cost(usage) == pytest.approx((6_000 * 3.0 + 4_000 * 0.3 + 2_000 * 15.0) / 1e6)
    assert sonnet.cost(Usage()) == 0.0


def test_unknown_prices_give_no_cost() -> None:
    assert facts("openai", "gpt-3.5-turbo") is not None
    no_cache_price = facts("openai", "gpt-3.5-turbo")
    assert no_cache_price is not None
    assert no_cache_price.cost(Usage(input_tokens=100, output_tokens=10)) is not None
    # It read the cache, but what a cached token costs is not known: no cost, not a guess.
    assert no_cache_price.cost(Usage(input_tokens=100, output_tokens=10, cached_tokens=50)) is None
    unpriced = facts("anthropic", "claude-opus-4-7")
    assert unpriced is not None and unpriced.context_window == 1_000_000
    assert not unpriced.priced
    assert unpriced.cost(Usage(input_tokens=100, output_tokens=10)) is None


def test_long_prompts_use_the_higher_tier() -> None:
    pro = facts("google", "gemini-2.5-pro")
    assert pro is not None
    assert pro.cost(Usage(input_tokens=200_000, output_tokens=1_000)) == pytest.approx(
        (200_000 * 1.25 + 1_000 * 10.0) / 1e6
    )
    assert pro.cost(Usage(input_tokens=200_001, output_tokens=1_000)) == pytest.approx(
        (200_001 * 2.5 + 1_000 * 15.0) / 1e6
    )


def test_config_extends_and_overrides_the_table() -> None:
    overrides = {
        "claude-sonnet-4-5": Override(context_window=1_000_000),
        "anthropic/claude-haiku-4-5": Override(input_cost=2.0),
        "claude-haiku-4-5": Override(input_cost=9.0, output_cost=7.0),
        "llama3.2": Override(context_window=131_072, input_cost=0.0, output_cost=0.0),
    }
    sonnet = facts("anthropic", "claude-sonnet-4-5-20250929", overrides)
    assert sonnet is not None
    assert (sonnet.context_window, sonnet.input_cost) == (1_000_000, 3.0)
    haiku = facts("anthropic", "claude-haiku-4-5", overrides)
    assert haiku is not None
    # provider/model wins over the bare id; what it leaves out comes from the bare id, then
    # from the table.
    assert (haiku.input_cost, haiku.output_cost, haiku.cached_input_cost) == (2.0, 7.0, 0.1)
    local = facts("openai-chat", "llama3.2", overrides)
    assert local is not None and local.context_window == 131_072
    assert local.cost(Usage(input_tokens=5_000, output_tokens=100)) == 0.0
    assert facts("openai-chat", "mistral", overrides) is None


def test_configured_prices_replace_the_long_context_tier() -> None:
    pro = facts("google", "gemini-2.5-pro", {"gemini-2.5-pro": Override(input_cost=1.0)})
    assert pro is not None and pro.long_context is None
    assert pro.cost(Usage(input_tokens=300_000)) == pytest.approx(0.3)
