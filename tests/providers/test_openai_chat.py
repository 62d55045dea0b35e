"""The openai-chat provider: golden recordings, compatible servers' quirks, serialization.

What every provider must do (order, ordinals, faults, retries, statuses,
chunking) is in test_contract.py; this file keeps what is particular to Chat
Completions and the servers that speak it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ikigai.providers.events import (
    Done,
    Error,
    ProviderEvent,
    Retry,
    Start,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from ikigai.providers.http import ProviderOptions
from ikigai.providers.openai_chat import ChatNormalizer, OpenAIChatProvider
from ikigai.providers.openai_responses import OpenAIResponsesProvider
from ikigai.providers.request import (
    Message,
    Request,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)
from ikigai.providers.sse import SSEDecoder
from tests.fakeserver import FakeServer, Reply, Text, Thinking, ToolCall, http_error

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openai-chat"
RECORDINGS = sorted(FIXTURES.glob("*.sse"))


def normalize(chunks: list[bytes], model: str = "m") -> list[StreamEvent]:
    """Run bytes through the decoder and the normalizer, in process."""
    decoder = SSEDecoder()
    normalizer = ChatNormalizer(model)
    events: list[StreamEvent] = []
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            events.extend(normalizer.feed(sse))
    events.extend(normalizer.finish(decoder.pending))
    return events


def recorded_chunks(path: Path) -> list[dict]:
    """The JSON chunks of a recording, read independently of the provider code."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data: {"):
            out.append(json.loads(line[len("data: ") :]))
    return out


def provider_for(server: FakeServer, **overrides: object) -> OpenAIChatProvider:
    options = ProviderOptions(
        base_url=server.base_url("openai-chat"),
        api_key="test-key",
        retry_base_delay=0.01,
        retry_max_delay=0.05,
        read_timeout=5.0,
    )
    for key, value in overrides.items():
        setattr(options, key, value)
    return OpenAIChatProvider(options)


async def collect(provider: OpenAIChatProvider, request: Request) -> list[ProviderEvent]:
    return [event async for event in provider.stream(request)]


def simple_request(text: str = "hi") -> Request:
    return Request(model="gpt-4o", messages=[Message.user(text)])


def text_of(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# -- golden recordings -------------------------------------------------------------------------


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_recording_matches_its_content(path: Path) -> None:
    chunks = recorded_chunks(path)
    events = normalize([path.read_bytes()])

    assert events[0] == Start(chunks[0]["model"])
    assert isinstance(events[-1], Done)
    assert sum(isinstance(e, (Done, Error)) for e in events) == 1

    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    expected_text = "".join((d.get("content") or "") + (d.get("refusal") or "") for d in deltas)
    expected_thinking = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert text_of(events) == expected_text
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == expected_thinking

    usage = next(c["usage"] for c in reversed(chunks) if c.get("usage"))
    done = events[-1]
    assert done.usage.input_tokens == usage["prompt_tokens"]
    assert done.usage.output_tokens == usage["completion_tokens"]
    assert done.usage.total_tokens == usage["total_tokens"]
    assert done.usage.thinking_tokens == usage["completion_tokens_details"]["reasoning_tokens"]

    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for call in delta.get("tool_calls") or []:
            entry = calls.setdefault(call["index"], {"id": call.get("id"), "args": ""})
            entry["args"] += call["function"].get("arguments") or ""
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.id) for s in starts] == [(i, c["id"]) for i, c in sorted(calls.items())]
    for index, call in calls.items():
        got = "".join(
            e.arguments for e in events if isinstance(e, ToolCallDelta) and e.index == index
        )
        assert json.loads(got) == json.loads(call["args"])
    assert sorted(e.index for e in events if isinstance(e, ToolCallDone)) == sorted(calls)


def test_recorded_finish_reasons_and_specifics() -> None:
    def done(name: str) -> Done:
        event = normalize([(FIXTURES / name).read_bytes()])[-1]
        assert isinstance(event, Done)
        return event

    assert done("01_text_with_usage.sse").finish_reason == "stop"
    assert done("01_text_with_usage.sse").usage == Usage(14, 30, 0, 0, 44)
    assert done("02_two_parallel_tool_calls.sse").finish_reason == "tool_use"
    assert done("03_single_tool_call.sse").finish_reason == "tool_use"
    assert done("04_finish_length.sse").finish_reason == "length"
    refusal = done("05_refusal.sse")
    assert refusal.finish_reason == "content_filter"
    assert refusal.provider_data["refusal"] is True
    deepseek = done("06_deepseek_reasoning_content.sse")
    assert deepseek.finish_reason == "stop"
    assert deepseek.usage == Usage(6, 212, 198, 0, 218)

    events = normalize([(FIXTURES / "03_single_tool_call.sse").read_bytes()])
    args = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert json.loads(args) == {"city": "New York City"}
    start = next(e for e in events if isinstance(e, ToolCallStart))
    assert (start.id, start.name) == ("call_4XzlGBLtUe9dy3GVNV4jhq7h", "get_weather")


# -- stream details ----------------------------------------------------------------------------


def sse(*payloads: object) -> bytes:
    parts = []
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        parts.append(f"data: {text}\n\n")
    return "".join(parts).encode()


def chunk(delta: dict | None = None, finish: str | None = None, **extra: object) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c1", "model": "local", "choices": choices, **extra}


def test_reasoning_field_of_compatible_servers_is_thinking() -> None:
    events = normalize(
        [sse(chunk({"reasoning": "let me see"}), chunk({"content": "ok"}, "stop"), "[DONE]")]
    )
    assert [type(e).__name__ for e in events] == ["Start", "ThinkingDelta", "TextDelta", "Done"]


def test_mid_stream_error_object_becomes_error_event() -> None:
    body = b": OPENROUTER PROCESSING\n\n" + sse(
        chunk({"content": "partial"}),
        {"id": "g", "error": {"code": 429, "message": "Rate limited upstream"}, "choices": []},
        "[DONE]",
    )
    events = normalize([body])
    assert text_of(events) == "partial"
    assert events[-1] == Error("rate_limit", "Rate limited upstream", 429, None)


def test_stream_cut_after_finish_reason_is_complete() -> None:
    events = normalize([sse(chunk({"content": "done"}, "stop"))])
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "stop"


def test_tool_calls_finishing_with_stop_are_tool_use() -> None:
    call = {"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}
    events = normalize([sse(chunk({"tool_calls": [call]}), chunk({}, "stop"), "[DONE]")])
    assert events[-1].finish_reason == "tool_use"  # type: ignore[union-attr]
    assert ToolCallDone(0) in events


# -- serialization -----------------------------------------------------------------------------


def test_body_carries_messages_tools_and_usage_option() -> None:
    request = Request(
        model="gpt-4o",
        system="be brief",
        messages=[
            Message.user("weather?"),
            Message(
                role="assistant",
                content=[TextBlock("checking"), ToolCallBlock("call_1", "get_weather", '{"c":1}')],
                provider="openai-chat",
            ),
            Message(role="tool", content=[ToolResultBlock("call_1", "get_weather", "sunny")]),
        ],
        tools=[ToolSpec("get_weather", "Weather", {"type": "object", "properties": {}})],
        max_output_tokens=100,
    )
    body = OpenAIChatProvider(ProviderOptions(base_url="http://127.0.0.1:1/v1")).body(request)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 100
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "checking",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"c":1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    assert body["tools"][0]["function"]["name"] == "get_weather"


def test_reasoning_effort_only_for_reasoning_models() -> None:
    provider = OpenAIChatProvider(ProviderOptions(base_url="https://api.openai.com/v1"))
    reasoning = provider.body(Request(model="o3-mini", messages=[], thinking="high"))
    plain = provider.body(Request(model="llama3", messages=[], thinking="high"))
    assert reasoning["reasoning_effort"] == "high"
    assert "reasoning_effort" not in plain


@pytest.mark.parametrize(
    ("model", "level", "effort"),
    [
        ("gpt-5", "min", "minimal"),
        ("gpt-5-mini", "med", "medium"),
        ("gpt-5.1", "min", "low"),  # 'minimal' is not supported with the 'gpt-5.1' model
        ("gpt-5.2", "high", "high"),
        ("gpt-5-pro", "low", "high"),  # only high
        ("o4-mini", "min", "low"),
        ("gpt-5-chat-latest", "high", None),  # no reasoning parameter at all
        ("gpt-5.1-chat-latest", "med", None),
        ("o1-mini", "high", None),
        ("gpt-4.1", "high", None),
    ],
)
def test_reasoning_effort_follows_the_shared_openai_table(
    model: str, level: Any, effort: str | None
) -> None:
    """The same table as the Responses provider: both send the same effort per model."""
    chat = OpenAIChatProvider(ProviderOptions(base_url="https://api.openai.com/v1"))
    responses = OpenAIResponsesProvider(ProviderOptions(base_url="https://api.openai.com/v1"))
    request = Request(model=model, messages=[], thinking=level)
    assert chat.body(request).get("reasoning_effort") == effort
    assert responses.body(request).get("reasoning", {}).get("effort") == effort


# -- over the socket: scripted replies, retry details -------------------------------------------


async def test_scripted_reply_with_thinking_and_tool_call(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        Reply(
            steps=[Thinking("hmm"), Text("Let me look."), ToolCall("file_read", {"path": "a"})],
            usage={"input_tokens": 5, "output_tokens": 7},
        )
    )
    events = await collect(provider_for(fake_server), simple_request())
    assert isinstance(events[0], Start)
    assert text_of(events) == "Let me look."
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "hmm"
    args = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert json.loads(args) == {"path": "a"}
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "tool_use"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (5, 7)
    sent = fake_server.requests[0]
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.json["messages"] == [{"role": "user", "content": "hi"}]


async def test_retry_after_header_is_honoured_and_reported(fake_server: FakeServer) -> None:
    fake_server.enqueue(http_error(429, retry_after_ms="30"), Reply(steps=[Text("ok")]))
    events = await collect(provider_for(fake_server), simple_request())
    retry = events[0]
    assert isinstance(retry, Retry)
    assert retry.delay_ms == 30
    assert retry.category == "rate_limit"
    assert retry.describe() == "retrying 1/4 in 0.0 s: rate_limit"


async def test_retries_are_bounded(fake_server: FakeServer) -> None:
    fake_server.enqueue(*[http_error(503) for _ in range(3)])
    events = await collect(provider_for(fake_server, max_retries=2), simple_request())
    assert [type(e) for e in events] == [Retry, Retry, Start, Error]
    assert events[-1].category == "server"  # type: ignore[union-attr]
    assert len(fake_server.requests) == 3


async def test_long_retry_after_is_reported_not_waited(fake_server: FakeServer) -> None:
    fake_server.enqueue(http_error(429, retry_after="3600"))
    events = await collect(provider_for(fake_server), simple_request())
    error = events[-1]
    assert isinstance(error, Error)
    assert (error.category, error.retry_after_ms) == ("rate_limit", 3_600_000)
    assert len(fake_server.requests) == 1


async def test_vendor_error_bodies(fake_server: FakeServer) -> None:
    body = (FIXTURES / "http_errors" / "429_openrouter.json").read_bytes()
    fake_server.enqueue(http_error(429, body=body))
    events = await collect(provider_for(fake_server, max_retries=0), simple_request())
    error = events[-1]
    assert isinstance(error, Error) and error.category == "rate_limit"
    assert "temporarily rate-limited upstream" in error.message
    body = (FIXTURES / "http_errors" / "400_unsupported_value.json").read_bytes()
    fake_server.enqueue(http_error(400, body=body))
    error = (await collect(provider_for(fake_server), simple_request()))[-1]
    assert isinstance(error, Error) and error.category == "invalid_arg"
    assert "does not support 'developer'" in error.message
