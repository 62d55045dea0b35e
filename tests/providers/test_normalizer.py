"""The shared normalizer pieces: token counts and tool-call ordinals."""

from __future__ import annotations

import math

import pytest

from ikigai.providers.events import StreamEvent, ToolCallDelta, ToolCallDone, ToolCallStart
from ikigai.providers.normalizer import ToolCalls, token_count


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (12, 12),
        (0, 0),
        (-5, 0),
        (7.9, 7),
        (math.nan, 0),
        (math.inf, 0),
        ("42", 42),
        ("4.2", 0),
        ("", 0),
        (None, 0),
        (True, 0),
        ({"n": 1}, 0),
        ([3], 0),
    ],
)
def test_token_counts_are_non_negative_ints_whatever_the_server_sent(
    value: object, count: int
) -> None:
    assert token_count(value) == count
    assert type(token_count(value)) is int


def test_tool_calls_are_numbered_in_start_order_whatever_their_wire_key() -> None:
    calls = ToolCalls()
    out: list[StreamEvent] = []
    assert calls.start(7, "call_x", "a", out)
    assert calls.start(2, None, "b", out)
    assert not calls.start(7, "call_y", "again", out)  # a key starts one call only
    calls.delta(2, '{"q": 1}', out)
    calls.delta(9, "{}", out)  # never started: dropped
    calls.end(7, out)
    calls.delta(7, "late", out)  # already ended: dropped
    calls.end(7, out)
    calls.end_all(out)
    assert out == [
        ToolCallStart(0, "call_x", "a"),
        ToolCallStart(1, "call_1", "b"),
        ToolCallDelta(1, '{"q": 1}'),
        ToolCallDelta(0, "{}"),  # ended without arguments: {} so they parse
        ToolCallDone(0),
        ToolCallDone(1),
    ]
    assert calls.count == 2 and calls.started(7) and not calls.is_open(7)
