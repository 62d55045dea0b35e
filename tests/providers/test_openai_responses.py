"""Tests of the OpenAI Responses provider: serialization, normalization, round trips, faults.

Golden tests replay every recording in tests/fixtures/openai-responses/ over a
real socket; the expected values are read from the recording's own finished
events (``output_text.done``, ``output_item.done``, the terminal ``response``),
independently of the deltas the normalizer consumes. What every provider must
do (order, ordinals, faults, retries, statuses, chunking) is in
test_contract.py; this file keeps what is particular to the Responses API.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ikigai.providers.events import (
    Done,
    Error,
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
from ikigai.providers.openai_responses import (
    OpenAIResponsesProvider,
    ResponsesNormalizer,
    serialize_input,
)
from ikigai.providers.request import (
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openai-responses"
SSE_FILES = sorted(path.name for path in FIXTURES.glob("*.sse"))

CAPITAL_TOOL = ToolSpec(
    "get_capital",
    "",
    {
        "additionalProperties": False,
        "properties": {"country": {"type": "string"}},
        "required": ["country"],
        "type": "object",
    },
)


# -- helpers -----------------------------------------------------------------------------------


def payloads(raw: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of a recording, parsed without the production SSE decoder."""
    out = []
    for line in re.split(rb"\r\n|\n|\r", raw):
        if line.startswith(b"data:"):
            out.append(json.loads(line[5:].strip()))
    return out


def expected(raw: bytes) -> dict[str, Any]:
    """What a recording contains, from its finished events and terminal response."""
    events = payloads(raw)
    text = "".join(e["text"] for e in events if e["type"] == "response.output_text.done")
    done_items = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    summaries = [
        part["text"]
        for item in done_items
        if item["type"] == "reasoning"
        for part in item.get("summary", [])
    ]
    calls = [
        (item["call_id"], item["name"], json.loads(item["arguments"]))
        for item in done_items
        if item["type"] == "function_call"
    ]
    terminal = events[-1]
    result: dict[str, Any] = {
        "model": events[0]["response"]["model"],
        "text": text,
        "thinking": "\n\n".join(summaries),
        "calls": calls,
        "items": done_items,
        "terminal": terminal["type"],
    }
    if terminal["type"] == "response.completed":
        response = terminal["response"]
        has_call = any(item["type"] == "function_call" for item in response["output"])
        usage = response["usage"]
        result["finish"] = "tool_use" if has_call else "stop"
        result["usage"] = Usage(
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            thinking_tokens=usage["output_tokens_details"]["reasoning_tokens"],
            cached_tokens=usage["input_tokens_details"]["cached_tokens"],
            # Recordings without total_tokens (07) get the sum, as the API's own total is.
            total_tokens=usage.get("total_tokens", usage["input_tokens"] + usage["output_tokens"]),
        )
        result["response_id"] = response["id"]
    else:
        result["error"] = next(e["error"] for e in events if e["type"] == "error")
    return result


def summarize(events: list[Any]) -> dict[str, Any]:
    """Text, thinking, tool calls (with parsed arguments) and the terminal event."""
    content = [e for e in events if not isinstance(e, Retry)]
    calls: dict[int, list[Any]] = {}
    for event in content:
        if isinstance(event, ToolCallStart):
            calls[event.index] = [event.id, event.name, ""]
        elif isinstance(event, ToolCallDelta):
            calls[event.index][2] += event.arguments
    return {
        "start": content[0],
        "text": "".join(e.text for e in content if isinstance(e, TextDelta)),
        "thinking": "".join(e.text for e in content if isinstance(e, ThinkingDelta)),
        "calls": [
            (call_id, name, json.loads(args) if args else {})
            for call_id, name, args in (calls[i] for i in sorted(calls))
        ],
        "terminal": content[-1],
    }


def assert_contract(events: list[Any]) -> None:
    """start first, one terminal last, tool calls start -> delta* -> done per index."""
    content = [e for e in events if not isinstance(e, Retry)]
    assert isinstance(content[0], Start)
    assert sum(1 for e in content if isinstance(e, Start)) == 1
    assert isinstance(content[-1], Done | Error)
    assert not any(isinstance(e, Done | Error) for e in content[:-1])
    state: dict[int, str] = {}
    for event in content:
        if isinstance(event, ToolCallStart):
            assert event.index not in state
            assert event.index == len(state)
            state[event.index] = "open"
        elif isinstance(event, ToolCallDelta):
            assert state.get(event.index) == "open"
        elif isinstance(event, ToolCallDone):
            assert state.get(event.index) == "open"
            state[event.index] = "done"
    if isinstance(content[-1], Done):
        assert all(value == "done" for value in state.values())


def normalize(raw: bytes, cuts: list[int] | None = None, model: str = "m") -> list[StreamEvent]:
    """Feed ``raw`` (split at ``cuts``) through SSEDecoder + normalizer, as the base does."""
    bounds = [0, *sorted(set(cuts or [])), len(raw)]
    decoder = SSEDecoder()
    normalizer = ResponsesNormalizer(model)
    out: list[StreamEvent] = []
    for start, end in itertools.pairwise(bounds):
        for sse in decoder.feed(raw[start:end]):
            for event in normalizer.feed(sse):
                out.append(event)
                if isinstance(event, Done | Error):
                    return out
    out.extend(normalizer.finish(decoder.pending))
    return out


def sse(*events: dict[str, Any]) -> bytes:
    """Responses-style SSE bytes for the given payloads."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def created(model: str = "gpt-5") -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": "resp_1", "model": model}}


def completed(output: list[dict[str, Any]], **response: Any) -> dict[str, Any]:
    body = {"id": "resp_1", "status": "completed", "output": output, "usage": None}
    body.update(response)
    return {"type": "response.completed", "response": body}


def text_request(model: str = "gpt-4.1", **kw: Any) -> Request:
    return Request(model=model, messages=[Message.user("Hi")], **kw)


def provider_for(base_url: str = "http://127.0.0.1:9/v1", **kw: Any) -> OpenAIResponsesProvider:
    options = ProviderOptions(base_url=base_url, api_key="test-key", retry_base_delay=0.01, **kw)
    return OpenAIResponsesProvider(options)


@pytest.fixture(autouse=True)
def _fresh_summary_memory() -> Any:
    """Each test starts with no account remembered as refused reasoning summaries."""
    saved = set(OpenAIResponsesProvider._no_summary)
    OpenAIResponsesProvider._no_summary.clear()
    yield
    OpenAIResponsesProvider._no_summary.clear()
    OpenAIResponsesProvider._no_summary.update(saved)


# -- request serialization ---------------------------------------------------------------------


def test_text_request_body() -> None:
    provider = provider_for()
    request = text_request(system="Be brief.", max_output_tokens=300)
    body = provider.body(request)
    assert body == {
        "model": "gpt-4.1",
        "stream": True,
        "store": False,
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": "Hi"}],
        "max_output_tokens": 300,
    }
    assert provider.url(request) == "http://127.0.0.1:9/v1/responses"
    assert provider.auth_headers() == {"authorization": "Bearer test-key"}


def test_tools_are_flat_and_not_strict() -> None:
    body = provider_for().body(text_request(tools=[CAPITAL_TOOL]))
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_capital",
            "description": "",
            "parameters": CAPITAL_TOOL.parameters,
            "strict": False,
        }
    ]


@pytest.mark.parametrize(
    ("model", "level", "effort"),
    [
        ("gpt-5", "min", "minimal"),
        ("gpt-5-mini", "low", "low"),
        ("gpt-5-nano", "med", "medium"),
        ("gpt-5", "high", "high"),
        ("o3-mini", "high", "high"),
        ("o4-mini", "min", "low"),
        ("o3", "min", "low"),
        ("gpt-5.1", "min", "low"),
        ("gpt-5.2", "med", "medium"),
        ("gpt-5-pro", "low", "high"),
    ],
)
def test_reasoning_effort_per_level(model: str, level: Any, effort: str) -> None:
    body = provider_for().body(text_request(model, thinking=level))
    assert body["reasoning"] == {"effort": effort, "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["store"] is False


def test_reasoning_model_without_level_still_asks_for_encrypted_content() -> None:
    body = provider_for().body(text_request("o4-mini"))
    assert "reasoning" not in body
    assert body["include"] == ["reasoning.encrypted_content"]


@pytest.mark.parametrize("model", ["gpt-4.1", "gpt-4o", "gpt-5-chat-latest", "o1-mini"])
def test_models_without_reasoning_get_no_reasoning_fields(model: str) -> None:
    provider = provider_for()
    body = provider.body(text_request(model, thinking="high"))
    assert "reasoning" not in body
    assert "include" not in body
    assert provider.model_warning(model) is None


def test_unknown_model_uses_defaults_with_a_warning() -> None:
    provider = provider_for()
    body = provider.body(text_request("my-finetune", thinking="high"))
    assert body["model"] == "my-finetune"
    assert "reasoning" not in body
    warning = provider.model_warning("my-finetune")
    assert warning is not None and "my-finetune" in warning


def test_history_from_another_provider_is_built_from_blocks() -> None:
    messages = [
        Message.user("Capital?"),
        Message(
            "assistant",
            [
                ThinkingBlock("hmm", signature="anthropic-sig"),
                TextBlock("Let me "),
                TextBlock("check."),
                ToolCallBlock("toolu_1", "get_capital", '{"country":"France"}'),
                ToolCallBlock("toolu_2", "get_capital", ""),
            ],
            provider="anthropic",
            provider_data={"content": [{"type": "thinking"}]},
        ),
        Message(
            "tool",
            [
                ToolResultBlock("toolu_1", "get_capital", "Paris"),
                ToolResultBlock("toolu_2", "get_capital", "?", is_error=True),
            ],
        ),
        Message("assistant", [TextBlock("Paris.")], provider="openai"),
    ]
    assert serialize_input(messages) == [
        {"role": "user", "content": "Capital?"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check."}],
        },
        {
            "type": "function_call",
            "call_id": "toolu_1",
            "name": "get_capital",
            "arguments": '{"country":"France"}',
        },
        {"type": "function_call", "call_id": "toolu_2", "name": "get_capital", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "Paris"},
        {"type": "function_call_output", "call_id": "toolu_2", "output": "?"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Paris."}],
        },
    ]


def test_native_items_replayed_verbatim_but_unusable_reasoning_dropped() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "encrypted_content": "ENC", "summary": []}
    bare = {"type": "reasoning", "id": "rs_2", "summary": []}
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "f",
        "arguments": "{}",
        "status": "completed",
    }
    message = Message(
        "assistant",
        [ToolCallBlock("call_1", "f", "{}")],
        provider="openai",
        provider_data={"output": [bare, reasoning, call]},
    )
    assert serialize_input([message]) == [reasoning, call]


# -- stream normalization (in-process) -----------------------------------------------------------


def test_refusal_is_text_and_finishes_content_filter() -> None:
    raw = sse(
        created(),
        {"type": "response.refusal.delta", "output_index": 0, "content_index": 0, "delta": "No"},
        {"type": "response.refusal.delta", "output_index": 0, "content_index": 0, "delta": "."},
        completed([{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}]),
    )
    events = normalize(raw)
    assert_contract(events)
    assert summarize(events)["text"] == "No."
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "content_filter"


@pytest.mark.parametrize(
    ("reason", "finish"),
    [("max_output_tokens", "length"), ("content_filter", "content_filter"), ("other", "unknown")],
)
def test_incomplete_maps_reason(reason: str, finish: str) -> None:
    usage = {
        "input_tokens": 5,
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 4},
        "input_tokens_details": {"cached_tokens": 2},
    }
    raw = sse(
        created(),
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Par"},
        {
            "type": "response.incomplete",
            "response": {
                "id": "resp_1",
                "status": "incomplete",
                "incomplete_details": {"reason": reason},
                "output": [],
                "usage": usage,
            },
        },
    )
    events = normalize(raw)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == finish
    # total_tokens is absent on the wire: computed.
    assert done.usage == Usage(5, 7, 4, 2, 12)


def test_failed_response_is_an_error() -> None:
    raw = sse(
        created(),
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"},
        {
            "type": "response.failed",
            "response": {
                "status": "failed",
                "error": {"code": "server_error", "message": "Something broke."},
            },
        },
    )
    events = normalize(raw)
    assert events[-1] == Error("server", "Something broke.")
    assert summarize(events)["text"] == "Hi"


@pytest.mark.parametrize(
    ("payload", "category", "message"),
    [
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None},
            "rate_limit",
            "Slow down",
        ),
        (
            {"type": "error", "error": {"type": "invalid_request_error", "message": "Bad"}},
            "invalid_arg",
            "Bad",
        ),
        ({"type": "error", "code": None, "message": "Oops"}, "server", "Oops"),
    ],
)
def test_error_event_both_shapes(payload: dict[str, Any], category: str, message: str) -> None:
    events = normalize(sse(created(), payload))
    assert isinstance(events[0], Start)
    error = events[-1]
    assert isinstance(error, Error)
    assert (error.category, error.message) == (category, message)


def test_summary_parts_are_separated_by_a_blank_line() -> None:
    def delta(summary_index: int, text: str) -> dict[str, Any]:
        return {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "summary_index": summary_index,
            "delta": text,
        }

    raw = sse(
        created(),
        delta(0, "**A**"),
        delta(0, " one"),
        delta(1, "**B**"),
        {"type": "response.reasoning_text.delta", "output_index": 1, "delta": "raw"},
        completed([]),
    )
    events = normalize(raw)
    thinking = [e for e in events if isinstance(e, ThinkingDelta)]
    assert [e.index for e in thinking] == [0, 0, 0, 1]
    assert "".join(e.text for e in thinking) == "**A** one\n\n**B**\n\nraw"


def test_reasoning_item_taken_from_output_item_done() -> None:
    added = {"type": "reasoning", "id": "rs_1", "encrypted_content": "PARTIAL", "summary": []}
    final = {"type": "reasoning", "id": "rs_1", "encrypted_content": "FINAL", "summary": []}
    call = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f"}
    raw = sse(
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": added},
        {"type": "response.output_item.done", "output_index": 0, "item": final},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**call, "arguments": ""},
        },
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"a":'},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "1}"},
        {
            "type": "response.function_call_arguments.done",
            "output_index": 1,
            "arguments": '{"a":1}',
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": {**call, "arguments": '{"a":1}'},
        },
        completed([added, call]),
    )
    events = normalize(raw)
    assert_contract(events)
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "tool_use"
    assert done.provider_data["output"] == [final, {**call, "arguments": '{"a":1}'}]
    assert summarize(events)["calls"] == [("call_1", "f", {"a": 1})]
    # exactly one done per call, though both .arguments.done and .output_item.done came
    assert sum(isinstance(e, ToolCallDone) for e in events) == 1


def test_arguments_only_in_done_event_are_still_delivered() -> None:
    call = {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "g"}
    raw = sse(
        created(),
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {**call, "arguments": "{}"},
        },
        completed([call]),
    )
    events = normalize(raw)
    assert_contract(events)
    assert summarize(events)["calls"] == [("call_9", "g", {})]


def test_stream_without_terminal_event_is_a_network_error() -> None:
    raw = sse(
        created(),
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Hel"},
    )
    # The completed event is there but unterminated: no blank line after it.
    raw += b"event: response.completed\ndata: " + json.dumps(completed([])).encode()
    events = normalize(raw)
    assert summarize(events)["text"] == "Hel"
    error = events[-1]
    assert isinstance(error, Error) and error.category == "network"


def test_insufficient_quota_is_not_retryable() -> None:
    normalizer = ResponsesNormalizer("m")
    raw = (FIXTURES / "06_error_then_failed.REFRAMED.sse").read_bytes()
    decoder = SSEDecoder()
    events = [e for s in decoder.feed(raw) for e in normalizer.feed(s)]
    error = next(e for e in events if isinstance(e, Error))
    assert error.category == "rate_limit"
    assert normalizer.retryable(error) is False
    assert normalizer.retryable(Error("server", "x")) is None


@pytest.mark.parametrize("name", SSE_FILES)
def test_recordings_in_process(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    want = expected(raw)
    events = normalize(raw)
    assert_contract(events)
    got = summarize(events)
    assert got["start"] == Start(want["model"])
    assert got["text"] == want["text"]
    assert got["thinking"] == want["thinking"]
    assert got["calls"] == want["calls"]


# -- over a real socket (the fake server) ------------------------------------------------------


def on(fake_server: Any, **kw: Any) -> OpenAIResponsesProvider:
    return provider_for(fake_server.base_url("openai"), **kw)


async def collect(provider: OpenAIResponsesProvider, request: Request) -> list[Any]:
    return [event async for event in provider.stream(request)]


def capital_request(*history: Message) -> Request:
    return Request(
        model="gpt-4o",
        messages=[Message.user("What is the capital of France?"), *history],
        tools=[CAPITAL_TOOL],
    )


@pytest.mark.parametrize("name", SSE_FILES)
async def test_golden_recording_over_socket(fake_server: Any, name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    want = expected(raw)
    fake_server.enqueue(Raw(raw, chunk_sizes=[5, 64, 1, 300, 2]))
    events = await collect(on(fake_server, max_retries=0), text_request("gpt-4o"))
    assert_contract(events)
    got = summarize(events)
    assert got["start"] == Start(want["model"])
    assert got["text"] == want["text"]
    assert got["thinking"] == want["thinking"]
    assert got["calls"] == want["calls"]
    terminal = got["terminal"]
    if want["terminal"] == "response.completed":
        assert isinstance(terminal, Done)
        assert terminal.finish_reason == want["finish"]
        assert terminal.usage == want["usage"]
        assert terminal.provider_data["output"] == want["items"]
        assert terminal.provider_data["response_id"] == want["response_id"]
    else:
        assert isinstance(terminal, Error)
        assert terminal.category == "rate_limit"  # insufficient_quota
        assert terminal.message == want["error"]["message"]
    sent = fake_server.requests[-1]
    assert sent.path.endswith("/responses")
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.json["stream"] is True


async def test_golden_values_spelled_out(fake_server: Any) -> None:
    """The same goldens, with the recordings' values written down (not derived)."""
    fake_server.enqueue(
        Raw((FIXTURES / "01_text.sse").read_bytes()),
        Raw((FIXTURES / "02a_function_call_no_seqnum_2025-03.sse").read_bytes()),
        Raw((FIXTURES / "04_reasoning_summary_deltas.sse").read_bytes(), chunk_sizes=[4096] * 40),
    )
    provider = on(fake_server, max_retries=0)
    first = summarize(await collect(provider, text_request()))
    assert first["text"] == "streamed"
    assert first["terminal"] == Done(
        "stop", Usage(21, 3, 0, 0, 24), first["terminal"].provider_data
    )
    second = summarize(await collect(provider, capital_request()))
    assert second["calls"] == [
        ("call_kL0PCQV7M2WMoVX8V8OtYSAL", "get_capital", {"country": "France"})
    ]
    assert second["terminal"].finish_reason == "tool_use"
    assert second["terminal"].usage == Usage(255, 16, 0, 0, 271)
    third = summarize(await collect(provider, text_request("o3-mini", thinking="high")))
    assert third["thinking"].startswith("**Providing")
    assert third["thinking"].count("\n\n**") == 3  # four summary parts
    assert third["text"].startswith("I'm not a road safety professional")
    assert third["terminal"].usage == Usage(13, 1680, 1408, 0, 1693)
    reasoning = third["terminal"].provider_data["output"][0]
    assert reasoning["type"] == "reasoning"
    assert reasoning["encrypted_content"].startswith("gAAAAABoxC0m")  # the .done copy


async def test_round_trip_after_function_call(fake_server: Any) -> None:
    recorded = json.loads((FIXTURES / "02b_after_function_call_output.request.json").read_text())
    fake_server.enqueue(
        Raw((FIXTURES / "02a_function_call_no_seqnum_2025-03.sse").read_bytes()),
        Raw((FIXTURES / "02b_after_function_call_output.sse").read_bytes()),
    )
    provider = on(fake_server, max_retries=0)
    first = await collect(provider, capital_request())
    done = first[-1]
    assert isinstance(done, Done)
    ((call_id, name, arguments),) = summarize(first)["calls"]
    assistant = Message(
        "assistant",
        [ToolCallBlock(call_id, name, json.dumps(arguments))],
        provider="openai",
        provider_data=done.provider_data,
    )
    tool = Message("tool", [ToolResultBlock(call_id, name, "Paris")])
    second = await collect(provider, capital_request(assistant, tool))
    assert summarize(second)["text"] == "The capital of France is Paris."

    sent = fake_server.requests[1].json["input"]
    want = recorded["input"]
    assert [item.get("type", "message") for item in sent] == [
        item.get("type", "message") for item in want
    ]
    # pydantic-ai sent the item id (fc_…) as call_id; we send the real call_id,
    # and the output answers the same id as the call.
    assert want[1]["call_id"] == want[2]["call_id"]
    assert sent[1]["call_id"] == sent[2]["call_id"] == "call_kL0PCQV7M2WMoVX8V8OtYSAL"
    for mine, theirs in zip(sent, want, strict=True):
        for key, value in theirs.items():
            if key != "call_id":
                assert mine[key] == value, key
        # Verbatim replay adds only the item's own id and status.
        assert set(mine) - set(theirs) <= {"id", "status"}
    assert sent[1]["id"] == "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2"


async def test_reasoning_item_replayed_before_its_function_call(fake_server: Any) -> None:
    fake_server.enqueue(
        Reply(
            steps=[
                Thinking("I should look it up.", signature="sig-1"),
                ToolCall("get_capital", {"country": "France"}, id="call_42"),
            ],
            model="o4-mini",
        ),
        Reply(steps=[Text("Paris.")], model="o4-mini"),
    )
    provider = on(fake_server, max_retries=0)
    request = Request(
        model="o4-mini",
        messages=[Message.user("Capital of France?")],
        tools=[CAPITAL_TOOL],
        thinking="med",
    )
    first = await collect(provider, request)
    got = summarize(first)
    assert got["thinking"] == "I should look it up."
    assert got["calls"] == [("call_42", "get_capital", {"country": "France"})]
    done = got["terminal"]
    assert isinstance(done, Done) and done.finish_reason == "tool_use"
    request.messages += [
        Message(
            "assistant",
            [ThinkingBlock("I should look it up."), ToolCallBlock("call_42", "get_capital", "{}")],
            provider="openai",
            provider_data=done.provider_data,
        ),
        Message("tool", [ToolResultBlock("call_42", "get_capital", "Paris")]),
    ]
    second = await collect(provider, request)
    assert summarize(second)["text"] == "Paris."

    body = fake_server.requests[1].json
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    items = body["input"]
    assert [item.get("type", "message") for item in items] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
    ]
    assert items[1]["encrypted_content"] == "enc-sig-1"  # only output_item.done carries it
    assert items[1]["summary"] == [{"type": "summary_text", "text": "I should look it up."}]
    assert items[2]["call_id"] == items[3]["call_id"] == "call_42"
    assert items[2]["arguments"] == '{"country": "France"}'
    assert items[3]["output"] == "Paris"


SUMMARY_REFUSAL = {
    "error": {
        "message": (
            "Your organization must be verified to generate reasoning summaries. Please go "
            "to: https://platform.openai.com/settings/organization/general and click on "
            "Verify Organization. If you just verified, it can take up to 15 minutes for "
            "access to propagate."
        ),
        "type": "invalid_request_error",
        "param": "reasoning.summary",
        "code": "unsupported_value",
    }
}


async def test_unverified_organization_retries_without_summaries(fake_server: Any) -> None:
    fake_server.enqueue(
        http_error(400, body=SUMMARY_REFUSAL),
        Reply(steps=[Text("Hi.")]),
        Reply(steps=[Text("Again.")]),
    )
    request = text_request("gpt-5", thinking="low")
    events = await collect(on(fake_server, max_retries=0), request)
    assert not any(isinstance(e, Retry) for e in events)  # not counted as a retry
    assert summarize(events)["text"] == "Hi."
    assert isinstance(events[-1], Done)
    first, second = (r.json for r in fake_server.requests)
    assert first["reasoning"] == {"effort": "low", "summary": "auto"}
    assert second["reasoning"] == {"effort": "low"}
    # Remembered for the process: a new provider for the same account sends none.
    events = await collect(on(fake_server, max_retries=0), request)
    assert summarize(events)["text"] == "Again."
    assert fake_server.requests[2].json["reasoning"] == {"effort": "low"}
    assert len(fake_server.requests) == 3


async def test_summary_refusal_twice_is_an_error_not_a_loop(fake_server: Any) -> None:
    fake_server.enqueue(
        http_error(400, body=SUMMARY_REFUSAL), http_error(400, body=SUMMARY_REFUSAL)
    )
    events = await collect(on(fake_server, max_retries=3), text_request("o3", thinking="high"))
    error = events[-1]
    assert isinstance(error, Error) and error.category == "invalid_arg"
    assert "verified" in error.message
    assert len(fake_server.requests) == 2


@pytest.mark.parametrize(
    "name", ["400_invalid_param.json", "400_reasoning_item_without_following_item.json"]
)
async def test_recorded_error_bodies(fake_server: Any, name: str) -> None:
    body = json.loads((FIXTURES / "http_errors" / name).read_text())
    fake_server.enqueue(http_error(400, body=body))
    events = await collect(on(fake_server, max_retries=3), text_request())
    error = events[-1]
    assert isinstance(error, Error)
    assert error.category == "invalid_arg"
    assert error.message == f"HTTP 400: {body['error']['message']}"
    assert len(fake_server.requests) == 1  # a 400 is not retried


async def test_429_reports_retry_after(fake_server: Any) -> None:
    fake_server.enqueue(http_error(429, retry_after="7"))
    events = await collect(on(fake_server, max_retries=0), text_request())
    error = events[-1]
    assert isinstance(error, Error)
    assert (error.category, error.http_status, error.retry_after_ms) == ("rate_limit", 429, 7000)


async def test_429_is_retried_after_the_announced_delay(fake_server: Any) -> None:
    fake_server.enqueue(http_error(429, retry_after_ms="30"), Reply(steps=[Text("ok")]))
    events = await collect(on(fake_server, max_retries=2), text_request())
    retries = [e for e in events if isinstance(e, Retry)]
    assert [(r.delay_ms, r.category, r.http_status) for r in retries] == [(30, "rate_limit", 429)]
    assert summarize(events)["text"] == "ok"
    assert isinstance(events[-1], Done)
    assert len(fake_server.requests) == 2


async def test_insufficient_quota_429_is_not_retried(fake_server: Any) -> None:
    body = {
        "error": {
            "message": "You exceeded your current quota, please check your plan.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    fake_server.enqueue(http_error(429, retry_after="1", body=body), Reply(steps=[Text("no")]))
    events = await collect(on(fake_server, max_retries=3), text_request())
    assert not any(isinstance(e, Retry) for e in events)
    error = events[-1]
    assert isinstance(error, Error) and error.category == "rate_limit"
    assert "exceeded your current quota" in error.message
    assert len(fake_server.requests) == 1


# created, in_progress, item added, part added, then one event per 4 characters
TEXT = "Hello there, general Kenobi"
AFTER_THREE_DELTAS = 7


async def test_error_event_then_failed_is_one_error_with_its_message(fake_server: Any) -> None:
    fault = Fault("error_event", after_events=AFTER_THREE_DELTAS)
    fake_server.enqueue(Reply(steps=[Text(TEXT)], fault=fault))
    events = await collect(on(fake_server, max_retries=0), text_request())
    assert_contract(events)
    error = events[-1]
    assert isinstance(error, Error) and error.category == "server"
    assert "fake server" in error.message
    assert summarize(events)["text"] == TEXT[:12]  # three 4-character deltas


async def test_error_event_with_custom_error(fake_server: Any) -> None:
    quota = {"type": "insufficient_quota", "code": "insufficient_quota", "message": "No quota."}
    fake_server.enqueue(
        Reply(steps=[Text(TEXT)], fault=Fault("error_event", after_events=5, error=quota))
    )
    events = await collect(on(fake_server, max_retries=0), text_request())
    assert events[-1] == Error("rate_limit", "No quota.")
    assert summarize(events)["text"] == TEXT[:4]


# -- issue 16: phase, encrypted reasoning from response.completed, sampling ----------------------

PHASE = "07_phase_commentary_final.REFRAMED.sse"


def test_phase_recording_keeps_each_message_phase() -> None:
    events = normalize((FIXTURES / PHASE).read_bytes(), model="gpt-5.3-codex")
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "stop"
    output = done.provider_data["output"]
    assert [(item["id"], item["phase"]) for item in output] == [
        ("msg_phase_commentary", "commentary"),
        ("msg_phase_final", "final_answer"),
    ]


def test_phase_goes_back_verbatim_on_the_next_request() -> None:
    done = normalize((FIXTURES / PHASE).read_bytes())[-1]
    assert isinstance(done, Done)
    stored = json.loads(json.dumps(done.provider_data))
    answer = Message(
        "assistant",
        [TextBlock("I'm going to search for thatThe capital of France is Paris.")],
        provider="openai",
        provider_data=stored,
    )
    body = provider_for().body(
        Request(
            model="gpt-5.3-codex", messages=[Message.user("capital?"), answer, Message.user("ok")]
        )
    )
    assert body["input"][1:3] == stored["output"]
    assert [item.get("phase") for item in body["input"][1:3]] == ["commentary", "final_answer"]


def test_phase_is_inferred_for_history_without_it_on_models_that_use_phases() -> None:
    from_elsewhere = Message(
        "assistant",
        [
            TextBlock("Checking the map."),
            ToolCallBlock("call_1", "get_capital", '{"country":"FR"}'),
        ],
        provider="anthropic",
    )
    results = Message("tool", [ToolResultBlock("call_1", "get_capital", "Paris")])
    final = Message("assistant", [TextBlock("Paris.")], provider="anthropic")
    history = [Message.user("capital?"), from_elsewhere, results, final, Message.user("thanks")]
    items = serialize_input(history, phase=True)
    messages = [i for i in items if i.get("role") == "assistant"]
    assert [m["phase"] for m in messages] == ["commentary", "final_answer"]
    assert not any("phase" in i for i in items if i.get("role") == "user")
    # Older models never see the field.
    assert not any("phase" in i for i in serialize_input(history))
    body = provider_for().body(Request(model="gpt-4.1", messages=history))
    assert not any("phase" in i for i in body["input"])


def test_encrypted_reasoning_only_in_response_completed_is_kept_once() -> None:
    streamed = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": None}
    final = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "CIPHER"}
    message = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hi"}],
        "phase": "final_answer",
    }
    raw = sse(
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": streamed},
        {"type": "response.output_item.done", "output_index": 0, "item": streamed},
        {
            "type": "response.output_text.delta",
            "output_index": 1,
            "content_index": 0,
            "delta": "Hi",
        },
        {"type": "response.output_item.done", "output_index": 1, "item": message},
        completed([final, message]),
    )
    done = normalize(raw)[-1]
    assert isinstance(done, Done)
    output = done.provider_data["output"]
    assert output == [final, message]
    assert json.dumps(output).count("CIPHER") == 1
    # And it is replayed: with store=false a reasoning item needs its ciphertext.
    replay = serialize_input(
        [Message("assistant", [TextBlock("Hi")], "openai", done.provider_data)]
    )
    assert replay[0]["encrypted_content"] == "CIPHER"


def test_terminal_items_that_never_streamed_are_kept_after_the_streamed_ones() -> None:
    first = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "A"}
    late = {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "B"}
    raw = sse(
        created(),
        {"type": "response.output_item.done", "output_index": 0, "item": first},
        completed([first, late]),
    )
    done = normalize(raw)[-1]
    assert isinstance(done, Done)
    assert done.provider_data["output"] == [first, late]


def test_sampling_only_for_models_without_reasoning() -> None:
    def body(model: str) -> dict[str, Any]:
        return provider_for().body(
            Request(model=model, messages=[Message.user("x")], temperature=0.4, top_p=0.8, top_k=9)
        )

    plain = body("gpt-4.1")
    assert (plain["temperature"], plain["top_p"]) == (0.4, 0.8) and "top_k" not in plain
    for model in ("gpt-5", "gpt-5.4", "o3", "o1-mini"):
        assert not {"temperature", "top_p"} & set(body(model)), model
