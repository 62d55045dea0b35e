"""What answers cost: ``cost_usd`` in the stored data, the conversation's sum, the meter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import rows, run_turn, settings_with
from tests.fakeserver import FakeServer, Reply, Text

# (model, input, cached input, output) prices in USD per million tokens, as the table has them.
PRICED = [
    ("anthropic/claude-sonnet-4-5", 3.0, 0.3, 15.0),
    ("openai/gpt-5", 1.25, 0.125, 10.0),
    ("openai-chat/gpt-4o", 2.5, 1.25, 10.0),
    ("google/gemini-2.5-flash", 0.3, 0.03, 2.5),
]


def assistant_data(path: Path) -> list[dict[str, object]]:
    return [
        json.loads(data)
        for (data,) in rows(path, "SELECT data FROM messages WHERE kind = 'assistant' ORDER BY id")
    ]


@pytest.mark.parametrize(("model", "fresh", "cached", "output"), PRICED)
async def test_cost_from_the_servers_usage_matches_the_table(
    tmp_path: Path,
    fake_server: FakeServer,
    model: str,
    fresh: float,
    cached: float,
    output: float,
    opened,
) -> None:
    usage = {"input_tokens": 12_000, "output_tokens": 800, "cached_tokens": 3_000}
    fake_server.enqueue(Reply([Text("first")], usage=usage), Reply([Text("second")], usage=usage))
    conversation = await opened(tmp_path, fake_server, model)
    await run_turn(conversation.send("one"))
    await run_turn(conversation.send("two"))
    total = conversation.cost_usd
    assert await conversation.close()
    stored = assistant_data(tmp_path / "ikigai.db")
    assert len(stored) == 2
    for data in stored:
        # The normalized counts the provider stored (Anthropic adds cache reads to input).
        fresh_tokens = int(data["input_tokens"]) - int(data["cached_tokens"])  # type: ignore[call-overload]
        assert data["cached_tokens"] == 3_000
        expected = (
            fresh_tokens * fresh + 3_000 * cached + int(data["output_tokens"]) * output  # type: ignore[call-overload]
        ) / 1e6
        assert data["cost_usd"] == pytest.approx(expected)
    assert total == pytest.approx(sum(float(d["cost_usd"]) for d in stored))  # type: ignore[arg-type]
    assert conversation.cost_partial is False


async def test_a_model_without_prices_stores_no_cost(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    fake_server.enqueue(Reply([Text("hi")], usage={"input_tokens": 10, "output_tokens": 2}))
    conversation = await opened(tmp_path, fake_server, "openai-chat/fake-model")
    await run_turn(conversation.send("hello"))
    assert conversation.cost_usd is None and conversation.cost_partial is True
    assert await conversation.close()
    [data] = assistant_data(tmp_path / "ikigai.db")
    assert "cost_usd" not in data
    assert data["input_tokens"] == 10


async def test_configured_prices_price_an_unknown_model(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(models={"fake-model": {"input_cost": 1.0, "output_cost": 4.0}})
    fake_server.enqueue(Reply([Text("hi")], usage={"input_tokens": 1_000, "output_tokens": 500}))
    conversation = await opened(tmp_path, fake_server, "openai-chat/fake-model", settings)
    await run_turn(conversation.send("hello"))
    assert conversation.cost_usd == pytest.approx((1_000 * 1.0 + 500 * 4.0) / 1e6)
    assert await conversation.close()
    [data] = assistant_data(tmp_path / "ikigai.db")
    assert data["cost_usd"] == pytest.approx(0.003)


async def test_an_opened_conversation_knows_its_cost(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    usage = {"input_tokens": 2_000, "output_tokens": 100}
    fake_server.enqueue(Reply([Text("a")], usage=usage), Reply([Text("b")], usage=usage))
    first = await opened(tmp_path, fake_server, "openai-chat/gpt-4o")
    await run_turn(first.send("one"))
    await run_turn(first.send("two"))
    spent, conversation_id = first.cost_usd, first.id
    assert await first.close()
    assert conversation_id is not None and spent is not None
    again = await opened(tmp_path, fake_server, "openai-chat/gpt-4o")
    await again.open(conversation_id)
    await again.ready()
    assert again.cost_usd == pytest.approx(spent)
    assert again.db is not None
    [listed] = await again.db.list_conversations()
    assert listed.cost_usd == pytest.approx(spent) and listed.cost_partial is False
    await again.close()


async def test_the_meter_uses_the_providers_count_then_estimates_what_was_added(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(models={"fake-model": {"context_window": 100_000}})
    fake_server.enqueue(
        Reply([Text("x" * 400)], usage={"input_tokens": 30_000, "output_tokens": 100})
    )
    conversation = await opened(tmp_path, fake_server, "openai-chat/fake-model", settings, db=False)
    before = conversation.context_tokens()
    assert 0 < before < 30_000  # an estimate: system prompt and tool definitions
    await run_turn(conversation.send("hello"))
    assert conversation.context_tokens() == 30_100
    assert conversation.context_fill() == pytest.approx(0.301)
    await conversation.clear()
    assert conversation.context_tokens() == before
    await conversation.close()
