"""The message bus without a terminal: order, tagging, failing subscribers."""

from __future__ import annotations

import pytest

from ikigai.engine.events import UserPrompt
from ikigai.providers.events import TextDelta
from ikigai.tui.bus import BusEvent, MessageBus


def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = MessageBus()
    seen: list[tuple[str, str]] = []
    bus.subscribe(lambda e: seen.append(("a", e.type)))
    bus.subscribe(lambda e: seen.append(("b", e.type)))
    bus.publish(BusEvent(3, 0, UserPrompt("hi")))
    bus.publish(BusEvent(3, 1, TextDelta(0, "x")))
    assert seen == [
        ("a", "user_prompt"),
        ("b", "user_prompt"),
        ("a", "text_delta"),
        ("b", "text_delta"),
    ]


def test_events_carry_turn_and_response() -> None:
    bus = MessageBus()
    got: list[BusEvent] = []
    bus.subscribe(got.append)
    bus.publish(BusEvent(9, 2, TextDelta(0, "y")))
    assert (got[0].turn_id, got[0].response_number, got[0].type) == (9, 2, "text_delta")
    assert got[0].event == TextDelta(0, "y")


def test_a_failing_subscriber_does_not_starve_the_others() -> None:
    bus = MessageBus()
    stored: list[str] = []

    def broken(event: BusEvent) -> None:
        raise ValueError("widget bug")

    bus.subscribe(broken)
    bus.subscribe(lambda e: stored.append(e.type))
    with pytest.raises(ValueError, match="widget bug"):
        bus.publish(BusEvent(1, 0, UserPrompt("x")))
    assert stored == ["user_prompt"]


def test_unsubscribe_stops_delivery() -> None:
    bus = MessageBus()
    seen: list[str] = []
    unsubscribe = bus.subscribe(lambda e: seen.append(e.type))
    unsubscribe()
    bus.publish(BusEvent(1, 0, UserPrompt("x")))
    assert seen == []
    assert bus.subscriber_count == 0
