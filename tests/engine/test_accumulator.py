"""One response, accumulated once: the message for the context and the snapshot storage writes."""

from __future__ import annotations

from ikigai.engine.accumulator import ResponseAccumulator
from ikigai.providers.events import (
    Done,
    Error,
    ProviderEvent,
    Retry,
    Start,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from ikigai.providers.request import TextBlock, ThinkingBlock, ToolCallBlock

BASE = {"provider": "anthropic", "model": "claude-sonnet-4-5", "thinking_level": "med"}


def fed(*events: ProviderEvent, base: dict[str, object] | None = None) -> ResponseAccumulator:
    accumulator = ResponseAccumulator("anthropic", BASE if base is None else base)
    for event in events:
        accumulator.add(event)
    return accumulator


def test_a_streaming_snapshot_names_what_produced_it() -> None:
    accumulator = fed(Retry(1, 3, 100, "rate_limit", "slow down"), Start("claude-sonnet-4-5-2025"))
    snapshot = accumulator.snapshot()
    assert (snapshot.content, snapshot.status) == ("", "streaming")
    assert snapshot.data == {**BASE, "response_model": "claude-sonnet-4-5-2025"}


def test_a_complete_answer_has_usage_provider_data_and_no_nulls() -> None:
    provider_data = {"content": [{"type": "thinking", "signature": "EqQBCkgIARABGAIiQL"}]}
    accumulator = fed(
        Start("claude-sonnet-4-5"),
        ThinkingDelta(0, "Let me think. "),
        ThinkingDelta(0, "Done thinking."),
        TextDelta(1, "The answer "),
        TextDelta(1, "is 42."),
        Done("stop", Usage(100, 20, 15, 80, 135), provider_data),
    )
    snapshot = accumulator.snapshot()
    assert (snapshot.content, snapshot.status) == ("The answer is 42.", "complete")
    assert snapshot.data == {
        **BASE,
        "thinking": "Let me think. Done thinking.",
        "finish_reason": "stop",
        "input_tokens": 100,
        "output_tokens": 20,
        "thinking_tokens": 15,
        "cached_tokens": 80,
        "total_tokens": 135,
        "provider_data": provider_data,
    }
    assert None not in snapshot.data.values()
    message = accumulator.message()
    assert message.content == [
        ThinkingBlock("Let me think. Done thinking."),
        TextBlock("The answer is 42."),
    ]
    assert (message.provider, message.provider_data) == ("anthropic", provider_data)


def test_events_after_the_end_change_nothing() -> None:
    accumulator = fed(Start("m"), TextDelta(0, "done."), Done("stop"))
    version = accumulator.version
    accumulator.add(ToolCallStart(0, "late", "bash"))
    accumulator.add(Error("server", "late"))
    accumulator.interrupt()
    assert accumulator.version == version
    assert accumulator.snapshot().status == "complete"


def test_missing_values_are_omitted() -> None:
    snapshot = fed(
        Start("llama3"),
        TextDelta(0, "hi"),
        Done("stop"),
        base={"provider": "openai-chat", "model": "llama3", "thinking_level": None},
    ).snapshot()
    assert "thinking_level" not in snapshot.data and "thinking" not in snapshot.data
    assert "provider_data" not in snapshot.data and "tool_calls" not in snapshot.data
    assert "response_model" not in snapshot.data
    assert snapshot.data["output_tokens"] == 0


def test_tool_calls_in_data_and_rows_in_the_order_they_completed() -> None:
    accumulator = fed(
        Start("claude-sonnet-4-5"),
        TextDelta(0, "Let me look."),
        ToolCallStart(0, "toolu_A", "bash"),
        ToolCallStart(1, "toolu_B", "read_file"),
        ToolCallDelta(0, '{"command": '),
        ToolCallDelta(1, '{"path": "a.txt"}'),
        ToolCallDelta(0, '"ls -la"}'),
        ToolCallDone(1),
    )
    snapshot = accumulator.snapshot()
    assert snapshot.data["tool_calls"] == [
        {"id": "toolu_A", "name": "bash", "arguments": '{"command": "ls -la"}', "incomplete": True},
        {"id": "toolu_B", "name": "read_file", "arguments": '{"path": "a.txt"}'},
    ]
    assert [row.data["id"] for row in snapshot.tool_calls] == ["toolu_B"]
    accumulator.add(ToolCallDone(0))
    accumulator.add(Done("tool_use", Usage(10, 5, 0, 0, 15)))
    snapshot = accumulator.snapshot()
    assert all("incomplete" not in call for call in snapshot.data["tool_calls"])
    assert [row.data["id"] for row in snapshot.tool_calls] == ["toolu_B", "toolu_A"]
    assert accumulator.tool_calls() == [
        ToolCallBlock("toolu_A", "bash", '{"command": "ls -la"}'),
        ToolCallBlock("toolu_B", "read_file", '{"path": "a.txt"}'),
    ]


def test_a_delta_for_a_call_that_never_started_is_kept_but_never_run() -> None:
    accumulator = fed(
        Start("m"),
        ToolCallDelta(3, '{"orphan": true}'),
        ToolCallDone(3),
        Done("tool_use"),
    )
    assert accumulator.tool_calls() == []
    assert accumulator.message().tool_calls() == []
    snapshot = accumulator.snapshot()
    assert snapshot.data["tool_calls"] == [
        {"id": "", "name": "", "arguments": '{"orphan": true}', "incomplete": True}
    ]
    assert snapshot.tool_calls == []


def test_an_error_ends_the_row_with_its_category() -> None:
    snapshot = fed(
        Start("m"), TextDelta(0, "partial"), Error("rate_limit", "Overloaded", 529)
    ).snapshot()
    assert (snapshot.content, snapshot.status) == ("partial", "error")
    assert snapshot.data["error_category"] == "rate_limit"
    assert snapshot.data["error_message"] == "Overloaded"
    assert snapshot.data["http_status"] == 529
    assert "retry_after_ms" not in snapshot.data and "finish_reason" not in snapshot.data


def test_an_interrupt_keeps_what_arrived() -> None:
    accumulator = fed(Start("m"), ThinkingDelta(0, "hmm"), TextDelta(1, "Once upon"))
    accumulator.interrupt()
    snapshot = accumulator.snapshot()
    assert (snapshot.content, snapshot.status) == ("Once upon", "interrupted")
    assert snapshot.data["thinking"] == "hmm"


def test_a_display_takes_only_what_arrived_since_it_last_looked() -> None:
    accumulator = fed(Start("m"), TextDelta(0, "one "), TextDelta(0, "two "))
    text, cursor = accumulator.text_parts_since(0)
    assert (text, cursor) == ("one two ", 2)
    accumulator.add(TextDelta(0, "three"))
    assert accumulator.text_parts_since(cursor) == ("three", 3)
    assert accumulator.text == "one two three"
    versions = accumulator.version
    accumulator.add(TextDelta(0, "!"))
    assert accumulator.version == versions + 1
