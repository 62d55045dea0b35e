"""The message bus without a terminal: order, awaiting, tagging, failing subscribers."""

from __future__ import annotations

import pytest

from ikigai.engine.turns import UserPrompt
from ikigai.providers.events import TextDelta
from ikigai.tui.bus import BusEvent, MessageBus


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = MessageBus()
    seen: list[tuple[str, str]] = []
    bus.subscribe(lambda e: seen.append(("a", e.type)))

    async def slow(event: BusEvent) -> None:
        seen.append(("b", event.type))

    bus.subscribe(slow)
    sink = bus.sink_for(7, 3)
    await sink(0, UserPrompt("hi"))
    await sink(1, TextDelta(0, "x"))
    assert seen == [
        ("a", "user_prompt"),
        ("b", "user_prompt"),
        ("a", "text_delta"),
        ("b", "text_delta"),
    ]


async def test_sink_tags_conversation_and_turn() -> None:
    bus = MessageBus()
    got: list[BusEvent] = []
    bus.subscribe(got.append)
    await bus.sink_for(5, 9)(2, TextDelta(0, "y"))
    assert (got[0].conversation_id, got[0].turn_id, got[0].response_number) == (5, 9, 2)
    assert got[0].event == TextDelta(0, "y")


async def test_a_failing_subscriber_does_not_starve_the_others() -> None:
    bus = MessageBus()
    stored: list[str] = []

    def broken(event: BusEvent) -> None:
        raise ValueError("widget bug")

    bus.subscribe(broken)
    bus.subscribe(lambda e: stored.append(e.type))
    with pytest.raises(ValueError, match="widget bug"):
        await bus.publish(BusEvent(1, 1, 0, UserPrompt("x")))
    assert stored == ["user_prompt"]


async def test_unsubscribe_stops_delivery() -> None:
    bus = MessageBus()
    seen: list[str] = []
    unsubscribe = bus.subscribe(lambda e: seen.append(e.type))
    unsubscribe()
    await bus.publish(BusEvent(1, 1, 0, UserPrompt("x")))
    assert seen == []
    assert bus.subscriber_count == 0
