"""The anthropic provider: request bodies, thinking per model, stream normalization.

Golden tests replay every recording in tests/fixtures/anthropic/ through the
provider (in process, and over a loopback socket with the fake server), and the
05a/05b pair checks the thinking + tool-use round trip against the request the
real client sent. What every provider must do (order, ordinals, faults, retries,
statuses, chunking) is in test_contract.py; this file keeps Anthropic's quirks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikigai.providers.anthropic import (
    DEFAULT_MODEL,
    INTERLEAVED_BETA,
    MODELS,
    THINKING_BUDGETS,
    AnthropicNormalizer,
    AnthropicProvider,
    model_spec,
    serialize_messages,
    thinking_params,
)
from ikigai.providers.events import (
    Done,
    Error,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)
from ikigai.providers.http import ProviderOptions
from ikigai.providers.request import (
    THINKING_LEVELS,
    Message,
    Request,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)
from ikigai.providers.sse import SSEDecoder
from tests.fakeserver import Fault, Raw, Reply, Text, Thinking, ToolCall, http_error
from tests.providers import anthropic_streams as streams

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic"
RECORDINGS = sorted(p.name for p in FIXTURES.glob("*.sse"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def json_lines(name: str) -> list[dict[str, Any]]:
    """The payloads of a ``.chunks.jsonl`` recording (one JSON object per line)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def normalize(data: bytes, split_points: list[int] | None = None) -> list[StreamEvent]:
    """Run ``data`` through the SSE decoder and the normalizer like the base does."""
    cuts = sorted(set(split_points or []))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    decoder = SSEDecoder()
    normalizer = AnthropicNormalizer("requested-model")
    out: list[StreamEvent] = []
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            out.extend(normalizer.feed(sse))
            if out and out[-1].type in ("done", "error"):
                return out
    out.extend(normalizer.finish(decoder.pending))
    return out


@dataclass
class Summary:
    """What a response said, assembled from its events."""

    model: str | None = None
    text: dict[int, str] = field(default_factory=dict)
    thinking: dict[int, str] = field(default_factory=dict)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    terminal: Done | Error | None = None

    def all_text(self) -> str:
        return "".join(self.text[i] for i in sorted(self.text))

    def all_thinking(self) -> str:
        return "".join(self.thinking[i] for i in sorted(self.thinking))


def summarize(events: list[Any]) -> Summary:
    """Assemble events, checking the contract's order on the way."""
    events = [e for e in events if e.type != "retry"]
    assert events and isinstance(events[0], Start), events[:1]
    assert isinstance(events[-1], Done | Error), events[-1:]
    assert not any(isinstance(e, Start | Done | Error) for e in events[1:-1])
    summary = Summary(model=events[0].model, terminal=events[-1])
    for event in events[1:-1]:
        if isinstance(event, TextDelta):
            summary.text[event.index] = summary.text.get(event.index, "") + event.text
        elif isinstance(event, ThinkingDelta):
            summary.thinking[event.index] = summary.thinking.get(event.index, "") + event.text
        elif isinstance(event, ToolCallStart):
            assert event.index not in summary.calls
            summary.calls[event.index] = {
                "id": event.id,
                "name": event.name,
                "arguments": "",
                "done": False,
            }
        elif isinstance(event, ToolCallDelta):
            assert not summary.calls[event.index]["done"]
            summary.calls[event.index]["arguments"] += event.arguments
        elif isinstance(event, ToolCallDone):
            summary.calls[event.index]["done"] = True
    return summary


def recorded_payloads(name: str) -> list[dict[str, Any]]:
    """Every ``data:`` payload of a recording, parsed line by line (independent of the decoder)."""
    text = fixture_bytes(name).decode()
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def recorded_deltas(name: str, kind: str, key: str) -> str:
    return "".join(
        p["delta"][key]
        for p in recorded_payloads(name)
        if p["type"] == "content_block_delta" and p["delta"]["type"] == kind
    )


def recorded_signatures(name: str) -> list[str]:
    return [
        p["delta"]["signature"]
        for p in recorded_payloads(name)
        if p["type"] == "content_block_delta" and p["delta"]["type"] == "signature_delta"
    ]


def provider(base_url: str = "https://api.anthropic.com", **kwargs: Any) -> AnthropicProvider:
    options = ProviderOptions(base_url=base_url, api_key="test-key", retry_base_delay=0.01)
    for key, value in kwargs.items():
        setattr(options, key, value)
    return AnthropicProvider(options)


# -- what each recording must normalize to --------------------------------------------------

# (model, text per block index, finish, input, output, thinking tokens, tool calls)
GOLDEN: dict[str, dict[str, Any]] = {
    "01_text_basic.sse": {
        "model": "claude-3-opus-latest",
        "text": {0: "Hello there!"},
        "finish": "stop",
        "usage": (11, 6, 0, 0),
        "calls": [],
    },
    "02_text_then_tool_use.sse": {
        "model": "claude-sonnet-4-20250514",
        "text": {0: "I'll check the current weather in Paris for you."},
        "finish": "tool_use",
        "usage": (377, 65, 0, 0),
        "calls": [("toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather", {"location": "Paris"})],
    },
    "04_thinking_signature_text.sse": {
        "model": "claude-haiku-4-5-20251001",
        "text": {
            1: "1. **Pouch** - references their iconic bill pouch\n2. **Pelé** - playful "
            'take on "pelican"'
        },
        "finish": "stop",
        "usage": (46, 133, 0, 0),
        "calls": [],
    },
    "05a_thinking_then_tool_use.sse": {
        "model": "claude-haiku-4-5-20251001",
        "text": {},
        "finish": "tool_use",
        "usage": (598, 92, 53, 0),
        "calls": [("toolu_01825dXWLSoJwCst1qTsiWdb", "fixed_version", {})],
    },
    "05b_after_tool_result.sse": {
        "model": "claude-haiku-4-5-20251001",
        "text": {
            0: "The version is **0.32a0**.\n\nHere's a joke about it: \n\nLooks like this "
            "version is still in alpha testing... I guess you could say it's going through a \"0"
            ".32a good time\" before becoming stable! 😄\n\n(It's at version 0.32a, which means "
            "it's far from 1.0, so plenty of room to grow!)"
        },
        "finish": "stop",
        "usage": (707, 89, 0, 0),
        "calls": [],
    },
    "07_adaptive_thinking.sse": {
        "model": "claude-opus-4-6",
        "text": {0: "\n\n", 2: "1. **Captain Scoop**\n2. **Gullet**"},
        "finish": "stop",
        "usage": (34, 44, 0, 0),
        "calls": [],
    },
    "09_refusal_stop_details.sse": {
        "model": "claude-opus-4-7",
        "text": {},
        "finish": "content_filter",
        "usage": (20, 0, 0, 0),
        "calls": [],
    },
    "10_claude_sonnet_5_adaptive.REFRAMED.sse": {
        "model": "claude-sonnet-5",
        "text": {
            1: "".join(
                p["delta"]["text"]
                for p in json_lines("10_claude_sonnet_5_adaptive.chunks.jsonl")
                if p["type"] == "content_block_delta" and p["delta"]["type"] == "text_delta"
            )
        },
        "finish": "stop",
        "usage": (47, 373, 62, 0),
        "calls": [],
    },
}
THINKING_INDEX = {
    "04_thinking_signature_text.sse": 0,
    "05a_thinking_then_tool_use.sse": 0,
    "07_adaptive_thinking.sse": 1,
    "10_claude_sonnet_5_adaptive.REFRAMED.sse": 0,
}


def test_every_recording_has_a_golden_expectation() -> None:
    assert set(RECORDINGS) == {*GOLDEN, "08_error_event_SYNTHETIC.sse"}


def check_golden(name: str, events: list[Any]) -> Summary:
    expected = GOLDEN[name]
    summary = summarize(events)
    assert summary.model == expected["model"]
    assert summary.text == expected["text"]
    thinking_index = THINKING_INDEX.get(name)
    if thinking_index is None:
        assert summary.thinking == {}
    else:
        assert summary.thinking == {
            thinking_index: recorded_deltas(name, "thinking_delta", "thinking")
        }
        assert summary.thinking[thinking_index]
    done = summary.terminal
    assert isinstance(done, Done), done
    assert done.finish_reason == expected["finish"]
    input_tokens, output_tokens, thinking_tokens, cached = expected["usage"]
    assert done.usage.input_tokens == input_tokens
    assert done.usage.output_tokens == output_tokens
    assert done.usage.thinking_tokens == thinking_tokens
    assert done.usage.cached_tokens == cached
    assert done.usage.total_tokens == input_tokens + output_tokens
    calls = [
        (call["id"], call["name"], json.loads(call["arguments"]))
        for _, call in sorted(summary.calls.items())
    ]
    assert calls == expected["calls"]
    assert all(call["done"] for call in summary.calls.values())
    assert sorted(summary.calls) == list(range(len(calls)))
    return summary


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_recording_normalizes_in_process(name: str) -> None:
    check_golden(name, normalize(fixture_bytes(name)))


def test_thinking_signatures_are_kept_in_provider_data() -> None:
    for name in THINKING_INDEX:
        done = normalize(fixture_bytes(name))[-1]
        assert isinstance(done, Done)
        thinking = [b for b in done.provider_data["content"] if b["type"] == "thinking"]
        assert [b["signature"] for b in thinking] == recorded_signatures(name)
        assert [b["thinking"] for b in thinking] == [
            recorded_deltas(name, "thinking_delta", "thinking")
        ]


def test_adaptive_recording_keeps_block_order_text_before_thinking() -> None:
    done = normalize(fixture_bytes("07_adaptive_thinking.sse"))[-1]
    assert isinstance(done, Done)
    blocks = done.provider_data["content"]
    assert [b["type"] for b in blocks] == ["text", "thinking", "text"]
    assert blocks[0] == {"type": "text", "text": "\n\n"}
    assert blocks[2] == {"type": "text", "text": "1. **Captain Scoop**\n2. **Gullet**"}


def test_tool_use_provider_data_has_parsed_input_and_no_response_only_fields() -> None:
    done = normalize(fixture_bytes("02_text_then_tool_use.sse"))[-1]
    assert isinstance(done, Done)
    assert done.provider_data["content"] == [
        {"type": "text", "text": "I'll check the current weather in Paris for you."},
        {
            "type": "tool_use",
            "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn",
            "name": "get_weather",
            "input": {"location": "Paris"},
        },
    ]
    assert done.provider_data["message_id"] == "msg_019Q1hrJbZG26Fb9BQhrkHEr"
    assert done.provider_data["stop_reason"] == "tool_use"


def test_empty_tool_input_streams_as_parseable_empty_object() -> None:
    events = normalize(fixture_bytes("05a_thinking_then_tool_use.sse"))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas == [ToolCallDelta(0, "{}")]
    # tool_call_done comes after the delta, and before done
    kinds = [e.type for e in events]
    assert kinds.index("tool_call_done") > kinds.index("tool_call_delta")
    assert kinds[-1] == "done"


def test_refusal_keeps_stop_details_and_drops_empty_text_block() -> None:
    done = normalize(fixture_bytes("09_refusal_stop_details.sse"))[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == "content_filter"
    assert done.provider_data["stop_details"]["category"] == "cyber"
    assert done.provider_data["content"] == []


def test_synthetic_error_event_is_a_server_error() -> None:
    events = normalize(fixture_bytes("08_error_event_SYNTHETIC.sse"))
    assert len(events) == 2
    assert events[0] == Start("requested-model")
    error = events[1]
    assert isinstance(error, Error)
    assert error.category == "server"
    assert "Overloaded" in error.message and "overloaded_error" in error.message


# -- unterminated tails ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["01_text_basic.sse", "02_text_then_tool_use.sse", "09_refusal_stop_details.sse"]
)
def test_unterminated_message_stop_after_stop_reason_is_done(name: str) -> None:
    data = fixture_bytes(name)
    # The recordings really end inside the message_stop event...
    assert not data.endswith(b"\n\n")
    decoder = SSEDecoder()
    dispatched = [json.loads(e.data)["type"] for e in decoder.feed(data)]
    assert "message_stop" not in dispatched and decoder.pending
    # ...and the answer is complete all the same, because message_delta carried the reason.
    assert isinstance(normalize(data)[-1], Done)


def test_terminated_message_stop_gives_the_same_events_as_the_unterminated_tail() -> None:
    data = fixture_bytes("01_text_basic.sse")
    assert normalize(data) == normalize(data + b"\n\n")


def test_stream_cut_inside_an_event_before_the_stop_reason_is_a_network_error() -> None:
    data = fixture_bytes("02_text_then_tool_use.sse")
    cut = data[: data.index(b"event: message_delta") + 30]
    summary = summarize(normalize(cut))
    assert isinstance(summary.terminal, Error)
    assert summary.terminal.category == "network"
    assert "unterminated" in summary.terminal.message
    # The tool call that arrived whole was closed by its content_block_stop.
    assert summary.calls[0]["done"] and json.loads(summary.calls[0]["arguments"]) == {
        "location": "Paris"
    }


# -- normalizer details the recordings do not show ------------------------------------------


def sse(*payloads: dict[str, Any]) -> bytes:
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


MESSAGE_START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude-sonnet-4-5",
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 5,
            "output_tokens": 1,
        },
    },
}


def stop(reason: str, **usage: Any) -> list[dict[str, Any]]:
    return [
        {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": usage},
        {"type": "message_stop"},
    ]


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_use"),
        ("refusal", "content_filter"),
        ("pause_turn", "unknown"),
        ("something_new", "unknown"),
    ],
)
def test_stop_reasons(reason: str, finish: str) -> None:
    done = normalize(sse(MESSAGE_START, *stop(reason, output_tokens=3)))[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == finish
    assert done.provider_data["stop_reason"] == reason


def test_usage_last_value_wins_and_cache_reads_are_cached_tokens() -> None:
    events = normalize(
        sse(
            MESSAGE_START,
            *stop(
                "end_turn",
                input_tokens=12,
                cache_read_input_tokens=200,
                output_tokens=50,
                output_tokens_details={"thinking_tokens": 20},
            ),
        )
    )
    done = events[-1]
    assert isinstance(done, Done)
    # input = uncached input + cache reads + cache writes (writes from message_start)
    assert done.usage.input_tokens == 12 + 200 + 5
    assert done.usage.cached_tokens == 200
    assert done.usage.output_tokens == 50
    assert done.usage.thinking_tokens == 20
    assert done.usage.total_tokens == 217 + 50


def test_redacted_thinking_is_kept_opaque_and_in_order() -> None:
    events = normalize(
        sse(
            MESSAGE_START,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "redacted_thinking", "data": "opaque=="},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "t1", "name": "ls", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'},
            },
            {"type": "content_block_stop", "index": 1},
            *stop("tool_use", output_tokens=9),
        )
    )
    assert not any(isinstance(e, ThinkingDelta | TextDelta) for e in events)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.provider_data["content"] == [
        {"type": "redacted_thinking", "data": "opaque=="},
        {"type": "tool_use", "id": "t1", "name": "ls", "input": {"a": 1}},
    ]


def test_tool_calls_are_numbered_by_ordinal_not_block_index() -> None:
    blocks: list[dict[str, Any]] = []
    for block_index, (call_id, args) in enumerate([("a", '{"x":1}'), ("b", '{"y":2}')], 3):
        blocks += [
            {
                "type": "content_block_start",
                "index": block_index,
                "content_block": {"type": "tool_use", "id": call_id, "name": "f", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": block_index,
                "delta": {"type": "input_json_delta", "partial_json": args},
            },
            {"type": "content_block_stop", "index": block_index},
        ]
    summary = summarize(normalize(sse(MESSAGE_START, *blocks, *stop("tool_use"))))
    assert {i: (c["id"], json.loads(c["arguments"])) for i, c in summary.calls.items()} == {
        0: ("a", {"x": 1}),
        1: ("b", {"y": 2}),
    }


def test_tool_use_without_its_stop_is_closed_before_done() -> None:
    events = normalize(
        sse(
            MESSAGE_START,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"path": "/tm'},
            },
            *stop("max_tokens", output_tokens=4),
        )
    )
    assert [e.type for e in events[-2:]] == ["tool_call_done", "done"]
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "length"


@pytest.mark.parametrize(
    ("error_type", "category"),
    [
        ("overloaded_error", "server"),
        ("api_error", "server"),
        ("rate_limit_error", "rate_limit"),
        ("invalid_request_error", "invalid_arg"),
        ("authentication_error", "auth"),
    ],
)
def test_mid_stream_error_categories(error_type: str, category: str) -> None:
    data = fixture_bytes("01_text_basic.sse")
    head = data[: data.index(b"event: content_block_stop")]
    error = {"type": "error", "error": {"type": error_type, "message": "boom"}}
    events = normalize(head + f"event: error\ndata: {json.dumps(error)}\n\n".encode())
    summary = summarize(events)
    assert summary.all_text() == "Hello there!"
    assert isinstance(summary.terminal, Error)
    assert summary.terminal.category == category
    assert summary.terminal.message == f"{error_type}: boom"


# -- request serialization ------------------------------------------------------------------

FIXED_VERSION = ToolSpec(
    "fixed_version",
    "Return a fixed test version string",
    {"properties": {}, "type": "object"},
)
PROMPT_05 = (
    "Use the fixed_version tool. Then tell me the version and make one short joke about it. "
    "Think about it first."
)


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


def as_ikigai_sends(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded Haiku 4.5 request as ikigai sends it: without the API-default
    temperature 1.0 the recording's client sent, and with fine-grained input
    streaming asked for on each tool (Haiku 4.5 has it)."""
    expected = without(recorded, "temperature")
    expected["tools"] = [{**tool, "eager_input_streaming": True} for tool in expected["tools"]]
    return expected


def test_url_and_headers() -> None:
    p = provider("https://example.test/")
    request = Request(model="claude-haiku-4-5", messages=[Message.user("hi")])
    assert p.url(request) == "https://example.test/v1/messages"
    headers = p.headers()
    assert headers["x-api-key"] == "test-key"
    assert headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers
    assert AnthropicProvider.id == "anthropic"
    assert AnthropicProvider.default_base_url == "https://api.anthropic.com"


def test_plain_body_without_thinking() -> None:
    request = Request(
        model="claude-sonnet-4-5",
        messages=[Message.user("Hello")],
        system="Be brief.",
        max_output_tokens=500,
    )
    assert provider().body(request) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 500,
        "stream": True,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
    }


def test_max_tokens_defaults_to_the_model_table() -> None:
    request = Request(model="claude-3-5-haiku-latest", messages=[Message.user("x")])
    assert provider().body(request)["max_tokens"] == 8192
    request = Request(model="claude-opus-4-6", messages=[Message.user("x")])
    assert provider().body(request)["max_tokens"] == 128_000


def test_first_request_of_05a_matches_the_recording() -> None:
    recorded = fixture_json("05a_thinking_then_tool_use.request.json")
    request = Request(
        model="claude-haiku-4-5-20251001",
        messages=[Message.user(PROMPT_05)],
        tools=[FIXED_VERSION],
        thinking="min",
        max_output_tokens=64000,
    )
    assert provider().body(request) == as_ikigai_sends(recorded)


def test_adaptive_request_of_07_matches_the_recording_plus_display_and_effort() -> None:
    recorded = fixture_json("07_adaptive_thinking.request.json")
    request = Request(
        model="claude-opus-4-6",
        messages=[Message.user("Two names for a pet pelican, be brief")],
        thinking="high",
        max_output_tokens=8192,
    )
    body = provider().body(request)
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "high"}
    assert without(body, "thinking", "output_config") == without(
        recorded, "temperature", "thinking"
    )


@pytest.mark.parametrize(
    ("level", "effort"), [("min", "low"), ("low", "low"), ("med", "medium"), ("high", "high")]
)
def test_adaptive_effort_per_level(level: Any, effort: str) -> None:
    for model in ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7"):
        body = provider().body(Request(model=model, messages=[Message.user("x")], thinking=level))
        assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
        assert body["output_config"] == {"effort": effort}


@pytest.mark.parametrize("level", THINKING_LEVELS)
def test_budget_per_level(level: Any) -> None:
    body = provider().body(
        Request(model="claude-sonnet-4-5", messages=[Message.user("x")], thinking=level)
    )
    assert body["thinking"] == {
        "type": "enabled",
        "budget_tokens": THINKING_BUDGETS[level],
        "display": "summarized",
    }
    assert body["max_tokens"] == 64_000
    assert "output_config" not in body


def test_budgets_grow_with_the_level() -> None:
    budgets = [THINKING_BUDGETS[level] for level in THINKING_LEVELS]
    assert budgets == sorted(budgets) and len(set(budgets)) == len(budgets)
    assert budgets[0] == 1024


def test_max_tokens_is_raised_above_the_budget() -> None:
    body = provider().body(
        Request(
            model="claude-sonnet-4-5",
            messages=[Message.user("x")],
            thinking="med",
            max_output_tokens=1000,
        )
    )
    assert body["thinking"]["budget_tokens"] == 16_384
    assert body["max_tokens"] == 16_384 + 1000


def test_budget_is_capped_by_the_model() -> None:
    body = provider().body(
        Request(model="claude-opus-4-1", messages=[Message.user("x")], thinking="high")
    )
    assert body["thinking"]["budget_tokens"] == 24_000
    assert body["max_tokens"] == 32_000


@settings(max_examples=300, deadline=None)
@given(
    row=st.sampled_from([row for row in MODELS if row.thinking == "budget"]),
    level=st.sampled_from(THINKING_LEVELS),
    requested=st.integers(min_value=1, max_value=300_000),
)
def test_budget_is_always_valid(row: Any, level: Any, requested: int) -> None:
    params, max_tokens = thinking_params(row, level, requested)
    budget = params["thinking"]["budget_tokens"]
    assert budget >= 1024
    assert budget < max_tokens
    assert max_tokens >= requested


def test_no_thinking_field_without_a_level_or_on_models_without_thinking() -> None:
    for model in ("claude-sonnet-4-5", "claude-opus-4-6", "unknown-model"):
        body = provider().body(Request(model=model, messages=[Message.user("x")]))
        assert "thinking" not in body and "output_config" not in body
    body = provider().body(
        Request(model="claude-3-5-haiku-20241022", messages=[Message.user("x")], thinking="high")
    )
    assert "thinking" not in body and "output_config" not in body


def test_unknown_model_gets_defaults_and_a_warning() -> None:
    p = provider()
    warning = p.model_warning("claude-fable-9")
    assert warning is not None and "claude-fable-9" in warning
    assert p.model_warning("claude-haiku-4-5-20251001") is None
    body = p.body(Request(model="claude-fable-9", messages=[Message.user("x")], thinking="med"))
    assert body["max_tokens"] == DEFAULT_MODEL.max_output_tokens
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "medium"}


def test_model_table_longest_prefix() -> None:
    assert model_spec("claude-opus-4-20250514").spec.thinking == "budget"
    assert model_spec("claude-opus-4-6").spec.thinking == "adaptive"
    assert model_spec("claude-opus-4-1-20250805").spec.max_output_tokens == 32_000
    assert model_spec("claude-3-opus-latest").spec.thinking == "none"


def test_tools_serialization() -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}

    def tools_for(model: str) -> Any:
        return provider().body(
            Request(
                model=model,
                messages=[Message.user("x")],
                tools=[ToolSpec("read", "Read a file", schema)],
            )
        )["tools"]

    # Claude Sonnet 4 has no fine-grained tool streaming: the plain definition.
    assert tools_for("claude-sonnet-4-20250514") == [
        {"name": "read", "description": "Read a file", "input_schema": schema}
    ]
    # Sonnet 4.5 and later stream tool input unbuffered when each tool asks for it.
    for model in ("claude-sonnet-4-5", "claude-opus-4-7", "claude-sonnet-5"):
        assert tools_for(model) == [
            {
                "name": "read",
                "description": "Read a file",
                "input_schema": schema,
                "eager_input_streaming": True,
            }
        ]


def message_from_events(events: list[Any]) -> Message:
    """The assistant message a turn runner stores from a response's events."""
    summary = summarize(events)
    done = summary.terminal
    assert isinstance(done, Done)
    content: list[Any] = []
    signatures = [b for b in done.provider_data["content"] if b["type"] == "thinking"]
    for index in sorted({*summary.thinking, *summary.text}):
        if index in summary.thinking:
            content.append(ThinkingBlock(summary.thinking[index], signatures.pop(0)["signature"]))
        else:
            content.append(TextBlock(summary.text[index]))
    for _, call in sorted(summary.calls.items()):
        content.append(ToolCallBlock(call["id"], call["name"], call["arguments"]))
    return Message("assistant", content, provider="anthropic", provider_data=done.provider_data)


def test_round_trip_05a_to_05b_messages_match_the_recording() -> None:
    recorded = fixture_json("05b_after_tool_result.request.json")
    assistant = message_from_events(normalize(fixture_bytes("05a_thinking_then_tool_use.sse")))
    call = assistant.tool_calls()[0]
    request = Request(
        model="claude-haiku-4-5-20251001",
        messages=[
            Message.user(PROMPT_05),
            assistant,
            Message("tool", [ToolResultBlock(call.id, call.name, "0.32a0")]),
        ],
        tools=[FIXED_VERSION],
        thinking="min",
        max_output_tokens=64000,
    )
    body = provider().body(request)
    assert body["messages"] == recorded["messages"]
    assert body == as_ikigai_sends(recorded)


def test_round_trip_through_json_storage_still_matches() -> None:
    # provider_data is stored as JSON by the app; what comes back must still replay.
    recorded = fixture_json("05b_after_tool_result.request.json")
    assistant = message_from_events(normalize(fixture_bytes("05a_thinking_then_tool_use.sse")))
    assistant.provider_data = json.loads(json.dumps(assistant.provider_data))
    call = assistant.tool_calls()[0]
    messages = serialize_messages(
        [
            Message.user(PROMPT_05),
            assistant,
            Message("tool", [ToolResultBlock(call.id, call.name, "0.32a0")]),
        ]
    )
    assert messages == recorded["messages"]


def test_history_from_another_provider_uses_generic_blocks_and_drops_thinking() -> None:
    assistant = Message(
        "assistant",
        [
            ThinkingBlock("hmm", signature="sig-from-gemini"),
            TextBlock("Let me look."),
            ToolCallBlock("call_1", "read", '{"path": "a.txt"}'),
            ToolCallBlock("call_2", "list", ""),
        ],
        provider="google",
        provider_data={"content": [{"type": "text", "text": "not ours"}]},
    )
    messages = serialize_messages(
        [
            Message.user("hi"),
            assistant,
            Message("tool", [ToolResultBlock("call_1", "read", "data")]),
            Message("tool", [ToolResultBlock("call_2", "list", "denied", is_error=True)]),
            Message.user("and now?"),
        ]
    )
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "a.txt"}},
                {"type": "tool_use", "id": "call_2", "name": "list", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "data"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": "denied",
                    "is_error": True,
                },
                {"type": "text", "text": "and now?"},
            ],
        },
    ]


def test_own_history_without_provider_data_uses_signed_and_redacted_thinking() -> None:
    assistant = Message(
        "assistant",
        [
            ThinkingBlock("", redacted="opaque"),
            ThinkingBlock("plan", signature="sig"),
            ThinkingBlock("unsigned"),
            ToolCallBlock("t", "f", "{}"),
        ],
        provider="anthropic",
    )
    assert serialize_messages([assistant])[0]["content"] == [
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "thinking", "thinking": "plan", "signature": "sig"},
        {"type": "tool_use", "id": "t", "name": "f", "input": {}},
    ]


# -- over a real socket: the fake server ----------------------------------------------------

HTTP_ERRORS = FIXTURES / "http_errors"


async def collect(p: AnthropicProvider, request: Request) -> list[Any]:
    return [event async for event in p.stream(request)]


def fake_provider(fake_server: Any, **kwargs: Any) -> AnthropicProvider:
    kwargs.setdefault("max_retries", 0)
    return provider(fake_server.base_url("anthropic"), **kwargs)


def simple_request(model: str = "claude-haiku-4-5", **kwargs: Any) -> Request:
    return Request(model=model, messages=[Message.user("hi")], **kwargs)


@pytest.mark.parametrize("name", sorted(GOLDEN))
async def test_recording_over_the_socket(fake_server: Any, name: str) -> None:
    fake_server.enqueue(Raw(fixture_bytes(name)))
    events = await collect(fake_provider(fake_server), simple_request())
    check_golden(name, events)
    assert events == normalize(fixture_bytes(name))


async def test_synthetic_error_event_over_the_socket(fake_server: Any) -> None:
    fake_server.enqueue(Raw(fixture_bytes("08_error_event_SYNTHETIC.sse")))
    events = await collect(fake_provider(fake_server), simple_request("claude-opus-4-6"))
    assert events[0] == Start("claude-opus-4-6")
    assert len(events) == 2
    error = events[1]
    assert isinstance(error, Error)
    assert error.category == "server"
    assert error.message == "overloaded_error: Overloaded"


async def test_the_request_on_the_wire(fake_server: Any) -> None:
    fake_server.enqueue(Reply(steps=[Text("ok")]))
    request = Request(
        model="claude-sonnet-4-5",
        messages=[Message.user("hello")],
        system="sys",
        thinking="low",
        max_output_tokens=2000,
    )
    events = await collect(fake_provider(fake_server), request)
    assert isinstance(events[-1], Done)
    (recorded,) = fake_server.requests
    assert recorded.method == "POST"
    assert recorded.path == "/v1/messages"
    assert recorded.headers["x-api-key"] == "test-key"
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.json == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096 + 2000,
        "stream": True,
        "system": "sys",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        "thinking": {"type": "enabled", "budget_tokens": 4096, "display": "summarized"},
    }


async def test_two_turn_tool_conversation(fake_server: Any) -> None:
    fake_server.enqueue(
        Reply(
            steps=[
                Thinking("I should read the file.", signature="sig-1"),
                Text("Reading it now."),
                ToolCall("read_file", {"path": "notes.txt"}, id="toolu_A"),
            ],
            usage={"input_tokens": 40, "output_tokens": 30, "thinking_tokens": 8},
            model="claude-sonnet-4-5-20250929",
        ),
        Reply(steps=[Text("The file says hello.")], model="claude-sonnet-4-5-20250929"),
    )
    p = fake_provider(fake_server)
    read_tool = ToolSpec("read_file", "Read a file", {"type": "object", "properties": {}})
    history = [Message.user("What is in notes.txt?")]
    first = await collect(
        p,
        Request(model="claude-sonnet-4-5", messages=history, tools=[read_tool], thinking="min"),
    )
    summary = summarize(first)
    assert summary.model == "claude-sonnet-4-5-20250929"
    assert summary.thinking == {0: "I should read the file."}
    assert summary.text == {1: "Reading it now."}
    assert summary.calls == {
        0: {
            "id": "toolu_A",
            "name": "read_file",
            "arguments": '{"path": "notes.txt"}',
            "done": True,
        }
    }
    done = summary.terminal
    assert isinstance(done, Done)
    assert done.finish_reason == "tool_use"
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.thinking_tokens) == (
        40,
        30,
        8,
    )

    history.append(message_from_events(first))
    history.append(Message("tool", [ToolResultBlock("toolu_A", "read_file", "hello")]))
    second = await collect(
        p,
        Request(model="claude-sonnet-4-5", messages=history, tools=[read_tool], thinking="min"),
    )
    final = summarize(second)
    assert final.all_text() == "The file says hello."
    assert isinstance(final.terminal, Done) and final.terminal.finish_reason == "stop"

    sent = fake_server.requests[1].json
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is in notes.txt?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should read the file.", "signature": "sig-1"},
                {"type": "text", "text": "Reading it now."},
                {
                    "type": "tool_use",
                    "id": "toolu_A",
                    "name": "read_file",
                    "input": {"path": "notes.txt"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_A", "content": "hello"}],
        },
    ]
    assert sent["tools"] == [
        {
            "name": "read_file",
            "description": "Read a file",
            "input_schema": read_tool.parameters,
            "eager_input_streaming": True,
        }
    ]
    # A budget model of the Claude 4 family thinking with tools: the
    # interleaved-thinking beta, on both requests of the turn.
    assert [r.headers.get("anthropic-beta") for r in fake_server.requests] == [
        "interleaved-thinking-2025-05-14",
        "interleaved-thinking-2025-05-14",
    ]


# -- faults -----------------------------------------------------------------------------------


def long_reply(**kwargs: Any) -> Reply:
    return Reply(steps=[Text("Hello, world! " * 5, chunk=7)], **kwargs)


FULL_TEXT = "Hello, world! " * 5


def delivered_prefix(summary: Summary) -> None:
    text = summary.all_text()
    assert text and FULL_TEXT.startswith(text)


async def test_fault_cut_right_before_message_stop_is_done(fake_server: Any) -> None:
    # A cut is capped before the terminator: message_delta (with the stop
    # reason) went out, only message_stop is missing.
    fake_server.enqueue(long_reply(fault=Fault(kind="cut", after_events=1000)))
    summary = summarize(await collect(fake_provider(fake_server), simple_request()))
    assert summary.all_text() == FULL_TEXT
    assert isinstance(summary.terminal, Done) and summary.terminal.finish_reason == "stop"


async def test_fault_error_event_is_a_server_error_keeping_the_text(fake_server: Any) -> None:
    fake_server.enqueue(long_reply(fault=Fault(kind="error_event", after_events=6)))
    summary = summarize(await collect(fake_provider(fake_server), simple_request()))
    delivered_prefix(summary)
    assert isinstance(summary.terminal, Error)
    assert summary.terminal.category == "server"
    assert summary.terminal.message == "overloaded_error: Overloaded"


async def test_fault_error_event_with_another_type(fake_server: Any) -> None:
    error = {"type": "rate_limit_error", "message": "slow down"}
    fake_server.enqueue(long_reply(fault=Fault(kind="error_event", after_events=6, error=error)))
    summary = summarize(await collect(fake_provider(fake_server), simple_request()))
    delivered_prefix(summary)
    assert isinstance(summary.terminal, Error)
    assert summary.terminal.category == "rate_limit"
    assert summary.terminal.message == "rate_limit_error: slow down"


# -- HTTP errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body_file", "category", "message"),
    [
        (
            400,
            "400_invalid_request_error.json",
            "invalid_arg",
            "HTTP 400: This model does not support effort level 'xhigh'. "
            "Supported levels: high, low, max, medium.",
        ),
        (404, "404_not_found_error.json", "not_found", "HTTP 404: model: claude-does-not-exist"),
    ],
)
async def test_recorded_http_error_bodies(
    fake_server: Any, status: int, body_file: str, category: str, message: str
) -> None:
    body = (HTTP_ERRORS / body_file).read_bytes()
    fake_server.enqueue(http_error(status, body=body))
    events = await collect(fake_provider(fake_server, max_retries=3), simple_request())
    assert [e.type for e in events] == ["start", "error"]
    error = events[1]
    assert isinstance(error, Error)
    assert (error.category, error.message, error.http_status) == (category, message, status)
    assert error.retry_after_ms is None
    assert len(fake_server.requests) == 1  # a 4xx other than 429 is not retried


async def test_429_retry_after_is_reported_and_honoured(fake_server: Any) -> None:
    fake_server.enqueue(http_error(429, retry_after="2"))
    events = await collect(fake_provider(fake_server), simple_request())
    error = events[-1]
    assert isinstance(error, Error)
    assert (error.category, error.http_status, error.retry_after_ms) == ("rate_limit", 429, 2000)

    fake_server.enqueue(http_error(429, retry_after="0.2"), Reply(steps=[Text("ok")]))
    events = await collect(fake_provider(fake_server, max_retries=2), simple_request())
    retry = events[0]
    assert retry.type == "retry" and retry.delay_ms == 200 and retry.http_status == 429
    assert summarize(events).all_text() == "ok"


async def test_529_overloaded_is_retried_then_succeeds(fake_server: Any) -> None:
    fake_server.enqueue(http_error(529), http_error(500), Reply(steps=[Text("fine")]))
    events = await collect(fake_provider(fake_server, max_retries=3), simple_request())
    assert [e.type for e in events[:2]] == ["retry", "retry"]
    assert summarize(events).all_text() == "fine"
    assert len(fake_server.requests) == 3


# -- issue 16: stop details, server tools, parameters per model --------------------------------


def test_claude_5_recording_has_adaptive_thinking_with_its_signature() -> None:
    name = "10_claude_sonnet_5_adaptive.REFRAMED.sse"
    done = normalize(fixture_bytes(name))[-1]
    assert isinstance(done, Done)
    assert done.detail is None and done.server_tools == ()
    kinds = [b["type"] for b in done.provider_data["content"]]
    assert kinds == ["thinking", "text"]
    assert done.provider_data["content"][0]["signature"] == recorded_signatures(name)[0]


def test_pause_turn_is_paused_and_keeps_the_server_tool_blocks() -> None:
    events = normalize(streams.paused_search("ikigai release"))
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.finish_reason, done.detail, done.paused) == ("unknown", "paused", True)
    # A server tool is no client tool call: nothing to run.
    assert not any(isinstance(e, ToolCallStart) for e in events)
    assert done.provider_data["content"] == [
        {"type": "text", "text": "Let me search. "},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_01",
            "name": "web_search",
            "input": {"query": "ikigai release"},
        },
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_01",
            "content": streams.SEARCH_RESULTS,
        },
    ]
    assert done.server_tools == ("web_search: ikigai release", "web_search: 2 results")


def test_paused_content_goes_back_unchanged_as_the_last_assistant_turn() -> None:
    done = normalize(streams.paused_search())[-1]
    assert isinstance(done, Done)
    paused = Message(
        "assistant",
        [TextBlock("Let me search. ")],
        provider="anthropic",
        provider_data=json.loads(json.dumps(done.provider_data)),
    )
    body = provider().body(
        Request(model="claude-sonnet-4-5", messages=[Message.user("news?"), paused])
    )
    last = body["messages"][-1]
    assert last["role"] == "assistant"
    # Verbatim, except that the API refuses a final assistant turn ending in whitespace.
    assert last["content"][0] == {"type": "text", "text": "Let me search. "}
    assert last["content"][1:] == done.provider_data["content"][1:]


def test_trailing_whitespace_of_a_final_assistant_text_is_trimmed() -> None:
    paused = Message("assistant", [TextBlock("Thinking it over.  \n")], provider="openai")
    body = provider().body(Request(model="claude-sonnet-4-5", messages=[Message.user("q"), paused]))
    assert body["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Thinking it over."}],
    }


def test_continuation_merges_into_one_assistant_turn_with_citations() -> None:
    first = normalize(streams.paused_search())[-1]
    second = normalize(streams.answer_after_search())[-1]
    assert isinstance(first, Done) and isinstance(second, Done)
    assert (second.finish_reason, second.detail) == ("stop", None)
    assert second.provider_data["content"] == [
        {"type": "text", "text": "Version 2 is out.", "citations": [streams.CITATION]}
    ]
    assert second.server_tools == ("citations: 1",)
    history = [
        Message.user("news?"),
        Message("assistant", [], provider="anthropic", provider_data=first.provider_data),
        Message("assistant", [], provider="anthropic", provider_data=second.provider_data),
        Message.user("thanks"),
    ]
    messages = serialize_messages(history)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert (
        messages[1]["content"] == first.provider_data["content"] + second.provider_data["content"]
    )


def test_mcp_tool_blocks_are_kept_with_their_streamed_input() -> None:
    done = normalize(streams.mcp_call())[-1]
    assert isinstance(done, Done) and done.finish_reason == "stop"
    content = done.provider_data["content"]
    assert content[0] == {
        "type": "mcp_tool_use",
        "id": "mcptoolu_01",
        "name": "search_docs",
        "server_name": "docs",
        "input": {"query": "install"},
    }
    assert content[1]["type"] == "mcp_tool_result"
    assert done.server_tools == ("mcp docs/search_docs: install", "mcp: 1 result")


def test_refusal_detail_carries_the_stop_details_explanation() -> None:
    done = normalize(fixture_bytes("09_refusal_stop_details.sse"))[-1]
    assert isinstance(done, Done)
    assert done.detail == "refusal"
    assert done.explanation == "cyber: This request was refused due to policy."


def test_context_window_exceeded_is_length_with_its_detail() -> None:
    done = normalize(sse(MESSAGE_START, *stop("model_context_window_exceeded", output_tokens=3)))[
        -1
    ]
    assert isinstance(done, Done)
    assert (done.finish_reason, done.detail) == ("length", "context_window")
    plain = normalize(sse(MESSAGE_START, *stop("max_tokens", output_tokens=3)))[-1]
    assert isinstance(plain, Done) and plain.detail is None


def test_cut_off_eager_tool_input_is_tolerated_and_kept() -> None:
    events = normalize(
        sse(
            MESSAGE_START,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "file_write",
                    "input": {},
                },
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {
                    "type": "input_json_delta",
                    "partial_json": '{"path": "a.txt", "text": "lin',
                },
            },
            *stop("max_tokens", output_tokens=4096),
        )
    )
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "length"
    summary = summarize(events)
    assert (
        summary.calls[0]["done"]
        and summary.calls[0]["arguments"] == '{"path": "a.txt", "text": "lin'
    )
    block = done.provider_data["content"][0]
    # What the model wrote is kept (the API wants an object back, so it is wrapped).
    assert block["input"] == {"INVALID_JSON": '{"path": "a.txt", "text": "lin'}


@pytest.mark.parametrize(
    "model", ["claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-fable-5"]
)
def test_adaptive_only_models_never_get_a_budget_or_sampling(model: str) -> None:
    for level in ("min", "low", "med", "high"):
        body = provider().body(
            Request(
                model=model,
                messages=[Message.user("x")],
                thinking=level,
                temperature=0.2,
                top_p=0.5,
                top_k=5,
            )  # type: ignore[arg-type]
        )
        assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
        assert "budget_tokens" not in json.dumps(body)
        assert not {"temperature", "top_p", "top_k"} & set(body)
    plain = provider().body(Request(model=model, messages=[Message.user("x")], temperature=0.2))
    assert "temperature" not in plain and "thinking" not in plain


def test_sampling_where_accepted() -> None:
    def body(model: str, **kw: Any) -> dict[str, Any]:
        return provider().body(Request(model=model, messages=[Message.user("x")], **kw))

    # Without thinking: temperature (never together with top_p), top_k.
    assert {
        k: v
        for k, v in body("claude-sonnet-4-5", temperature=0.2, top_p=0.5, top_k=5).items()
        if k in ("temperature", "top_p", "top_k")
    } == {"temperature": 0.2, "top_k": 5}
    assert body("claude-opus-4-6", top_p=0.5)["top_p"] == 0.5
    # With thinking only top_p in [0.95, 1] is accepted.
    thinking = body("claude-sonnet-4-5", thinking="low", temperature=0.2, top_p=0.97, top_k=5)
    assert thinking["top_p"] == 0.97 and "temperature" not in thinking and "top_k" not in thinking
    assert "top_p" not in body("claude-sonnet-4-5", thinking="low", top_p=0.5)


def test_interleaved_beta_only_for_budget_thinking_with_tools() -> None:
    tool = ToolSpec("read", "Read", {"type": "object", "properties": {}})
    p = provider()

    def beta(model: str, **kw: Any) -> str | None:
        return p.headers(Request(model=model, messages=[Message.user("x")], **kw)).get(
            "anthropic-beta"
        )

    assert beta("claude-sonnet-4-5", thinking="low", tools=[tool]) == INTERLEAVED_BETA
    assert beta("claude-opus-4-1", thinking="high", tools=[tool]) == INTERLEAVED_BETA
    assert beta("claude-sonnet-4-5", thinking="low") is None  # no tools: nothing to interleave
    assert beta("claude-sonnet-4-5", tools=[tool]) is None  # no thinking
    assert beta("claude-opus-4-6", thinking="low", tools=[tool]) is None  # adaptive interleaves
    assert beta("claude-3-7-sonnet-latest", thinking="low", tools=[tool]) is None
    # A configured anthropic-beta header keeps its value beside ikigai's.
    configured = provider(headers={"anthropic-beta": "context-1m-2025-08-07"})
    headers = configured.headers(
        Request(
            model="claude-sonnet-4-5", messages=[Message.user("x")], thinking="low", tools=[tool]
        )
    )
    assert headers["anthropic-beta"] == f"{INTERLEAVED_BETA},context-1m-2025-08-07"


async def test_budget_refused_for_a_dated_model_is_resent_adaptive(fake_server: Any) -> None:
    model = "claude-haiku-4-5-20991231"  # the table says budget; the server says otherwise
    fake_server.enqueue(
        http_error(
            400,
            body={
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": '"thinking.type.enabled" is not supported for this model. '
                    'Use "thinking.type.adaptive" and "output_config.effort" to control '
                    "thinking behavior.",
                },
            },
        ),
        Reply(steps=[Text("ok")]),
    )
    try:
        events = await collect(
            fake_provider(fake_server, max_retries=0), simple_request(model, thinking="med")
        )
        assert isinstance(events[-1], Done)
        first, second = (r.json for r in fake_server.requests)
        assert first["thinking"]["type"] == "enabled"
        assert second["thinking"] == {"type": "adaptive", "display": "summarized"}
        assert second["output_config"] == {"effort": "medium"}
    finally:
        AnthropicProvider._adaptive_only.discard(model)


async def test_deprecated_temperature_is_resent_without_sampling(fake_server: Any) -> None:
    model = "claude-sonnet-4-5-20991231"
    fake_server.enqueue(
        http_error(
            400,
            body={
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "`temperature` is deprecated for this model.",
                },
            },
        ),
        Reply(steps=[Text("ok")]),
    )
    try:
        events = await collect(
            fake_provider(fake_server, max_retries=0), simple_request(model, temperature=0.3)
        )
        assert isinstance(events[-1], Done)
        first, second = (r.json for r in fake_server.requests)
        assert first["temperature"] == 0.3
        assert "temperature" not in second
    finally:
        AnthropicProvider._no_sampling.discard(model)


async def test_deprecated_temperature_twice_is_an_error_not_a_loop(fake_server: Any) -> None:
    model = "claude-sonnet-4-5-20991232"
    refusal = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "`top_k` is deprecated for this model.",
        },
    }
    fake_server.enqueue(http_error(400, body=refusal), http_error(400, body=refusal))
    try:
        events = await collect(
            fake_provider(fake_server, max_retries=0), simple_request(model, top_k=3)
        )
        error = events[-1]
        assert isinstance(error, Error) and error.category == "invalid_arg"
        assert len(fake_server.requests) == 2
    finally:
        AnthropicProvider._no_sampling.discard(model)
