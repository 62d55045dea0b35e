"""The fake LLM server itself, checked over real sockets with httpx.

Each wire format must render the same script faithfully, every fault must look
to a client the way the brief specifies, and the plumbing (queue, recording,
errors, Raw, the command line) must behave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakeserver import (
    NO_REPLY_MESSAGE,
    FakeServer,
    Fault,
    Raw,
    Reply,
    Text,
    Thinking,
    ToolCall,
    http_error,
    load_script,
    reply_from_dict,
)

FORMATS = ("openai-chat", "openai", "anthropic", "google")
ROOT = Path(__file__).resolve().parent.parent

THINK = "Let me think about it."
TEXT = "Hello, world! Ünïcode ok."
ARGS = {"city": "Paris", "units": "metric"}
USAGE = {"input_tokens": 11, "output_tokens": 22, "thinking_tokens": 7, "cached_tokens": 3}


def url_for(server: FakeServer, fmt: str, model: str = "gemini-test") -> str:
    """The full endpoint URL of ``fmt``, built from ``base_url`` as a provider would."""
    base = server.base_url(fmt)
    if fmt == "openai-chat":
        return f"{base}/chat/completions"
    if fmt == "openai":
        return f"{base}/responses"
    if fmt == "anthropic":
        return f"{base}/v1/messages"
    return f"{base}/v1beta/models/{model}:streamGenerateContent?alt=sse"


def parse_sse(body: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each blank-line terminated event; a tail without one is dropped."""
    text = body.decode().replace("\r\n", "\n")
    blocks = text.split("\n\n")
    events: list[tuple[str | None, str]] = []
    for block in blocks[:-1]:
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        if data:
            events.append((name, "\n".join(data)))
    return events


def parse_sse_blocks(body: bytes) -> list[bytes]:
    """The raw bytes of each event, separator included."""
    return [block + b"\n\n" for block in body.split(b"\n\n")[:-1]]


def payloads(body: bytes) -> list[Any]:
    """The JSON data of every event (``[DONE]`` kept as the string)."""
    return [data if data == "[DONE]" else json.loads(data) for _, data in parse_sse(body)]


def is_terminator(fmt: str, payload: Any) -> bool:
    """Whether ``payload`` is the event that ends a stream of ``fmt`` normally."""
    if fmt == "openai-chat":
        return payload == "[DONE]"
    if fmt == "openai":
        return payload["type"] in ("response.completed", "response.incomplete")
    if fmt == "anthropic":
        return payload["type"] == "message_stop"
    return any("finishReason" in c for c in payload.get("candidates", []))


def full_reply(**kwargs: Any) -> Reply:
    """Thinking, text and a tool call: the script every format must render."""
    steps = [Thinking(THINK), Text(TEXT), ToolCall("get_weather", ARGS, id="call_1")]
    return Reply(steps, usage=USAGE, model="m-1", **kwargs)


async def post(url: str, read_timeout: float = 5.0) -> httpx.Response:
    """POST a small JSON body and read the whole answer."""
    timeout = httpx.Timeout(5.0, read=read_timeout)
    async with httpx.AsyncClient(trust_env=False, verify=False, timeout=timeout) as client:
        return await client.post(url, json={"model": "m-1", "stream": True})


async def normal_event_count(server: FakeServer, fmt: str, reply: Reply) -> int:
    """How many events ``reply`` renders to when served without a fault."""
    server.enqueue(reply)
    return len(parse_sse((await post(url_for(server, fmt))).content))


# -- faithful rendering ------------------------------------------------------------------------


def check_openai_chat(body: bytes) -> None:
    events = parse_sse(body)
    assert all(name is None for name, _ in events)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in events[:-1]]
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "m-1"
        assert {"id", "created", "choices"} <= chunk.keys()
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == THINK
    assert "".join(d.get("content") or "" for d in deltas) == TEXT
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert all(
        set(c) == {"index", "function"} and set(c["function"]) == {"arguments"} for c in calls[1:]
    )
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == ARGS
    finish = chunks[-2]["choices"][0]
    assert finish["finish_reason"] == "tool_calls" and finish["delta"] == {}
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        11,
        22,
        33,
    )
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 7
    assert usage["prompt_tokens_details"]["cached_tokens"] == 3


def check_openai_responses(body: bytes) -> None:
    events = parse_sse(body)
    data = [json.loads(d) for _, d in events]
    assert [name for name, _ in events] == [d["type"] for d in data]
    assert [d["sequence_number"] for d in data] == list(range(len(data)))
    assert [d["type"] for d in data[:2]] == ["response.created", "response.in_progress"]
    assert data[0]["response"]["model"] == "m-1"
    added = [d["item"] for d in data if d["type"] == "response.output_item.added"]
    done = [d["item"] for d in data if d["type"] == "response.output_item.done"]
    assert [i["type"] for i in added] == ["reasoning", "message", "function_call"]
    assert done[0]["encrypted_content"] == "enc-c2lnbmF0dXJl"
    assert added[0]["encrypted_content"] is None
    summary = [d["delta"] for d in data if d["type"] == "response.reasoning_summary_text.delta"]
    assert "".join(summary) == THINK
    assert done[0]["summary"] == [{"type": "summary_text", "text": THINK}]
    text = [d["delta"] for d in data if d["type"] == "response.output_text.delta"]
    assert "".join(text) == TEXT
    assert any(d["type"] == "response.content_part.added" for d in data)
    assert (added[2]["call_id"], added[2]["name"], added[2]["arguments"]) == (
        "call_1",
        "get_weather",
        "",
    )
    arg_deltas = [d for d in data if d["type"] == "response.function_call_arguments.delta"]
    assert all(d["item_id"] == added[2]["id"] for d in arg_deltas)
    assert json.loads("".join(d["delta"] for d in arg_deltas)) == ARGS
    arg_done = next(d for d in data if d["type"] == "response.function_call_arguments.done")
    assert json.loads(arg_done["arguments"]) == ARGS
    final = data[-1]
    assert final["type"] == "response.completed"
    response = final["response"]
    assert response["status"] == "completed"
    assert [i["type"] for i in response["output"]] == ["reasoning", "message", "function_call"]
    usage = response["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (11, 22, 33)
    assert usage["output_tokens_details"]["reasoning_tokens"] == 7
    assert usage["input_tokens_details"]["cached_tokens"] == 3


def check_anthropic(body: bytes) -> None:
    events = parse_sse(body)
    data = [json.loads(d) for _, d in events]
    assert [name for name, _ in events] == [d["type"] for d in data]
    assert data[0]["type"] == "message_start"
    assert data[0]["message"]["model"] == "m-1"
    assert data[0]["message"]["usage"]["input_tokens"] == 11
    assert data[2]["type"] == "ping"
    assert data[-1]["type"] == "message_stop"
    starts = [d["content_block"] for d in data if d["type"] == "content_block_start"]
    assert [b["type"] for b in starts] == ["thinking", "text", "tool_use"]
    assert (starts[2]["id"], starts[2]["name"], starts[2]["input"]) == ("call_1", "get_weather", {})
    deltas = [(d["index"], d["delta"]) for d in data if d["type"] == "content_block_delta"]
    thinking = [d for i, d in deltas if i == 0]
    assert "".join(d.get("thinking", "") for d in thinking) == THINK
    assert thinking[-1] == {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}
    assert "".join(d["text"] for i, d in deltas if i == 1) == TEXT
    json_parts = [d for i, d in deltas if i == 2]
    assert all(d["type"] == "input_json_delta" for d in json_parts)
    assert json.loads("".join(d["partial_json"] for d in json_parts)) == ARGS
    stops = [d["index"] for d in data if d["type"] == "content_block_stop"]
    assert stops == [0, 1, 2]
    message_delta = data[-2]
    assert message_delta["type"] == "message_delta"
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    assert message_delta["usage"]["output_tokens"] == 22
    assert message_delta["usage"]["output_tokens_details"]["thinking_tokens"] == 7


def check_google(body: bytes) -> None:
    assert b"\r\n\r\n" in body and b"\n\n" not in body.replace(b"\r\n\r\n", b"")
    events = parse_sse(body)
    assert all(name is None for name, _ in events)
    chunks = [json.loads(d) for _, d in events]
    assert all(c["modelVersion"] == "m-1" and c["responseId"] for c in chunks)
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    thoughts = [p["text"] for p in parts if p.get("thought")]
    assert "".join(thoughts) == THINK
    first_plain = next(p for p in parts if not p.get("thought"))
    assert first_plain["thoughtSignature"] == "c2lnbmF0dXJl"
    assert sum("thoughtSignature" in p for p in parts) == 1
    assert "".join(p.get("text", "") for p in parts if not p.get("thought")) == TEXT
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    assert calls == [{"name": "get_weather", "args": ARGS}]
    last = chunks[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    usage = last["usageMetadata"]
    assert usage["promptTokenCount"] == 11
    assert usage["candidatesTokenCount"] == 22
    assert usage["thoughtsTokenCount"] == 7
    assert usage["cachedContentTokenCount"] == 3
    assert usage["totalTokenCount"] == 40


CHECKS = {
    "openai-chat": check_openai_chat,
    "openai": check_openai_responses,
    "anthropic": check_anthropic,
    "google": check_google,
}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_full_reply_renders_in_vendor_format(fake_server: FakeServer, fmt: str) -> None:
    fake_server.enqueue(full_reply())
    response = await post(url_for(fake_server, fmt))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["connection"] == "close"
    assert "content-length" not in response.headers
    assert "transfer-encoding" not in response.headers
    CHECKS[fmt](response.content)


def finish_field(fmt: str, body: bytes) -> Any:
    """The vendor's own finish indicator of a stream."""
    data = payloads(body)
    if fmt == "openai-chat":
        reasons = [c["choices"][0]["finish_reason"] for c in data[:-1] if c["choices"]]
        assert reasons[:-1] == [None] * (len(reasons) - 1)
        return reasons[-1]
    if fmt == "openai":
        final = data[-1]
        details = final["response"]["incomplete_details"]
        return final["type"], details and details["reason"]
    if fmt == "anthropic":
        return data[-2]["delta"]["stop_reason"]
    return data[-1]["candidates"][0]["finishReason"]


EXPECTED_FINISH: dict[tuple[str, str], Any] = {
    ("openai-chat", "stop"): "stop",
    ("openai-chat", "length"): "length",
    ("openai-chat", "content_filter"): "content_filter",
    ("openai", "stop"): ("response.completed", None),
    ("openai", "length"): ("response.incomplete", "max_output_tokens"),
    ("openai", "content_filter"): ("response.incomplete", "content_filter"),
    ("anthropic", "stop"): "end_turn",
    ("anthropic", "length"): "max_tokens",
    ("anthropic", "content_filter"): "refusal",
    ("google", "stop"): "STOP",
    ("google", "length"): "MAX_TOKENS",
    ("google", "content_filter"): "SAFETY",
}


@pytest.mark.parametrize(("fmt", "finish"), list(EXPECTED_FINISH))
async def test_finish_reasons(fake_server: FakeServer, fmt: str, finish: str) -> None:
    explicit = None if finish == "stop" else finish
    fake_server.enqueue(Reply([Text("partial answer")], finish=explicit))  # type: ignore[arg-type]
    response = await post(url_for(fake_server, fmt))
    assert finish_field(fmt, response.content) == EXPECTED_FINISH[(fmt, finish)]


async def test_gemini_without_alt_sse_streams_a_json_array(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("abcdefgh")]))
    url = f"{fake_server.url}/v1beta/models/g:streamGenerateContent"
    response = await post(url)
    assert response.headers["content-type"].startswith("application/json")
    chunks = json.loads(response.content)
    assert b"\n,\r\n" in response.content
    texts = [p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert "".join(texts) == "abcdefgh"


async def test_large_stream_arrives_whole(fake_server: FakeServer) -> None:
    text = "x" * 40_000
    fake_server.enqueue(Reply([Text(text, chunk=4)]))
    response = await post(url_for(fake_server, "openai-chat"))
    events = payloads(response.content)
    assert len(events) == 10_000 + 4
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in events[:-2]) == text


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_reset_is_a_connection_error_at_the_client(fake_server: FakeServer, fmt: str) -> None:
    fake_server.enqueue(full_reply(fault=Fault("reset", after_events=3)))
    received = b""
    timeout = httpx.Timeout(5.0)
    async with httpx.AsyncClient(trust_env=False, verify=False, timeout=timeout) as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            async with client.stream("POST", url_for(fake_server, fmt), json={}) as response:
                assert response.status_code == 200
                async for chunk in response.aiter_raw():
                    received += chunk
    assert len(parse_sse(received)) == 3


async def test_reset_right_after_headers(fake_server: FakeServer) -> None:
    fake_server.enqueue(full_reply(fault=Fault("reset")))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        await post(url_for(fake_server, "anthropic"))


@pytest.mark.parametrize("fmt", FORMATS)
async def test_cut_ends_cleanly_before_the_terminator(fake_server: FakeServer, fmt: str) -> None:
    total = await normal_event_count(fake_server, fmt, full_reply())
    fake_server.enqueue(full_reply(fault=Fault("cut", after_events=10_000)))
    response = await post(url_for(fake_server, fmt))
    events = payloads(response.content)
    assert len(events) == total - 1
    assert not any(is_terminator(fmt, e) for e in events)

    fake_server.enqueue(full_reply(fault=Fault("cut", after_events=2)))
    response = await post(url_for(fake_server, fmt))
    assert len(payloads(response.content)) == 2


@pytest.mark.parametrize("fmt", FORMATS)
async def test_malformed_inserts_one_unparsable_event(fake_server: FakeServer, fmt: str) -> None:
    total = await normal_event_count(fake_server, fmt, full_reply())
    fake_server.enqueue(full_reply(fault=Fault("malformed", after_events=4)))
    response = await post(url_for(fake_server, fmt))
    events = parse_sse(response.content)
    assert len(events) == total + 1
    broken = []
    for number, (_, data) in enumerate(events):
        if data == "[DONE]":
            continue
        try:
            json.loads(data)
        except ValueError:
            broken.append(number)
    assert broken == [4]
    assert is_terminator(fmt, payloads_after(events[-1][1]))


def payloads_after(data: str) -> Any:
    return data if data == "[DONE]" else json.loads(data)


async def test_stall_triggers_the_client_read_timeout(fake_server: FakeServer) -> None:
    fake_server.enqueue(full_reply(fault=Fault("stall", after_events=2, seconds=30)))
    with pytest.raises(httpx.ReadTimeout):
        # A stall the client did not time out would hang here for 30 s.
        await asyncio.wait_for(post(url_for(fake_server, "openai"), read_timeout=0.2), 10)


async def test_stall_then_continues_normally(fake_server: FakeServer) -> None:
    total = await normal_event_count(fake_server, "anthropic", full_reply())
    fake_server.enqueue(full_reply(fault=Fault("stall", after_events=2, seconds=0.3)))
    started = time.monotonic()
    response = await post(url_for(fake_server, "anthropic"), read_timeout=2.0)
    assert time.monotonic() - started >= 0.3
    events = payloads(response.content)
    assert len(events) == total
    assert events[-1]["type"] == "message_stop"


async def test_drip_sends_the_rest_one_byte_at_a_time(fake_server: FakeServer) -> None:
    def same_ids(body: bytes) -> bytes:
        return re.sub(rb"fake\d{6}", b"fakeN", body)

    fake_server.enqueue(Reply([Text("drip")], usage=USAGE, model="m-1"))
    normal = same_ids((await post(url_for(fake_server, "anthropic"))).content)
    head = len(b"".join(parse_sse_blocks(normal)[:2]))
    fake_server.enqueue(
        Reply([Text("drip")], usage=USAGE, model="m-1", fault=Fault("drip", 2, seconds=0.002))
    )
    chunks: list[bytes] = []
    async with (
        httpx.AsyncClient(trust_env=False, timeout=5.0) as client,
        client.stream("POST", url_for(fake_server, "anthropic"), json={}) as response,
    ):
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
    assert same_ids(b"".join(chunks)) == normal
    # The first two events went out in one write, the rest in single bytes: even
    # if some reached the client together, far more pieces than writes arrived.
    assert len(chunks) > (len(normal) - head) // 4


@pytest.mark.parametrize("fmt", FORMATS)
async def test_error_event_ends_the_stream(fake_server: FakeServer, fmt: str) -> None:
    fake_server.enqueue(full_reply(fault=Fault("error_event", after_events=3)))
    response = await post(url_for(fake_server, fmt))
    events = parse_sse(response.content)
    data = [json.loads(d) for _, d in events]
    assert not any(is_terminator(fmt, d) for d in data)
    if fmt == "openai-chat":
        assert len(data) == 4
        assert data[-1]["error"]["type"] == "server_error"
    elif fmt == "openai":
        assert len(data) == 5
        assert [n for n, _ in events[-2:]] == ["error", "response.failed"]
        assert data[-2]["error"]["code"] == "server_error"
        assert data[-1]["response"]["status"] == "failed"
        assert data[-1]["response"]["error"]["code"] == "server_error"
        assert [d["sequence_number"] for d in data] == [0, 1, 2, 3, 4]
    elif fmt == "anthropic":
        assert len(data) == 4
        assert events[-1][0] == "error"
        assert data[-1] == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
        }
    else:
        assert len(data) == 4
        assert data[-1]["error"]["code"] == 503
        assert data[-1]["error"]["status"] == "UNAVAILABLE"


async def test_error_event_payload_override(fake_server: FakeServer) -> None:
    custom = {"type": "api_error", "message": "boom"}
    fake_server.enqueue(Reply([Text("hi")], fault=Fault("error_event", error=custom)))
    response = await post(url_for(fake_server, "anthropic"))
    assert payloads(response.content) == [{"type": "error", "error": custom}]


# -- HTTP errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_http_429_with_retry_after(fake_server: FakeServer, fmt: str) -> None:
    fake_server.enqueue(http_error(429, retry_after="2"))
    response = await post(url_for(fake_server, fmt))
    assert response.status_code == 429
    assert response.headers["content-length"] == str(len(response.content))
    body = response.json()
    if fmt in ("openai", "openai-chat"):
        assert response.headers["retry-after"] == "2"
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["code"] == "rate_limit_exceeded"
    elif fmt == "anthropic":
        assert response.headers["retry-after"] == "2"
        assert body["type"] == "error"
        assert body["error"]["type"] == "rate_limit_error"
    else:
        assert "retry-after" not in response.headers
        assert body["error"]["code"] == 429
        assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert body["error"]["details"] == [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
        ]


@pytest.mark.parametrize(
    ("fmt", "status", "expected"),
    [
        ("openai-chat", 401, ("error", "code", "invalid_api_key")),
        ("openai", 500, ("error", "type", "server_error")),
        ("anthropic", 529, ("error", "type", "overloaded_error")),
        ("anthropic", 400, ("error", "type", "invalid_request_error")),
        ("google", 503, ("error", "status", "UNAVAILABLE")),
        ("google", 404, ("error", "status", "NOT_FOUND")),
    ],
)
async def test_http_error_bodies(
    fake_server: FakeServer, fmt: str, status: int, expected: tuple[str, str, Any]
) -> None:
    fake_server.enqueue(http_error(status))
    response = await post(url_for(fake_server, fmt))
    assert response.status_code == status
    outer, key, value = expected
    assert response.json()[outer][key] == value
    assert response.json()[outer]["message"]


async def test_retry_after_ms_custom_body_and_headers(fake_server: FakeServer) -> None:
    fake_server.enqueue(
        http_error(503, retry_after_ms="1500", body="upstream down"),
        Reply(status=418, headers={"x-should-retry": "true"}, body={"odd": True}),
        http_error(429, retry_after_ms="1500"),
    )
    async with httpx.AsyncClient(trust_env=False, verify=False) as client:
        first = await client.post(url_for(fake_server, "openai"), json={})
        second = await client.post(url_for(fake_server, "anthropic"), json={})
        third = await client.post(url_for(fake_server, "google"), json={})
    assert (first.status_code, first.text) == (503, "upstream down")
    assert first.headers["retry-after-ms"] == "1500"
    assert "retry-after" not in first.headers
    assert (second.status_code, second.json()) == (418, {"odd": True})
    assert second.headers["x-should-retry"] == "true"
    assert third.json()["error"]["details"][0]["retryDelay"] == "1.5s"


async def test_error_then_success_on_one_client(fake_server: FakeServer) -> None:
    fake_server.enqueue(http_error(429, retry_after="0"), Reply([Text("ok")]))
    async with httpx.AsyncClient(trust_env=False, verify=False) as client:
        first = await client.post(url_for(fake_server, "openai-chat"), json={})
        second = await client.post(url_for(fake_server, "openai-chat"), json={})
    assert first.status_code == 429
    assert second.status_code == 200
    assert payloads(second.content)[-1] == "[DONE]"


async def test_empty_queue_fails_loudly(fake_server: FakeServer) -> None:
    response = await post(url_for(fake_server, "anthropic"))
    assert response.status_code == 500
    assert response.json()["error"]["message"] == NO_REPLY_MESSAGE
    assert response.headers["x-should-retry"] == "false"


async def test_unknown_path_is_404_and_keeps_the_queue(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("kept")]))
    response = await post(f"{fake_server.url}/v2/nothing")
    assert response.status_code == 404
    assert fake_server.pending == 1


# -- plumbing ------------------------------------------------------------------------------------


async def test_requests_are_recorded(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("a")]), Reply([Text("b")]))
    async with httpx.AsyncClient(trust_env=False, verify=False) as client:
        await client.post(
            url_for(fake_server, "google", model="gemini-x"),
            json={"contents": []},
            headers={"X-Goog-Api-Key": "k"},
        )
        await client.post(url_for(fake_server, "openai"), content=b"not json")
    await fake_server.wait_for_requests_async(2)
    fake_server.wait_for_requests(2, timeout=0.1)
    first, second = fake_server.requests
    assert (first.method, first.path, first.query) == (
        "POST",
        "/v1beta/models/gemini-x:streamGenerateContent",
        "alt=sse",
    )
    assert first.headers["x-goog-api-key"] == "k"
    assert first.json == {"contents": []}
    assert json.loads(first.body) == {"contents": []}
    assert first.route == "google"
    assert (second.path, second.body, second.json, second.route) == (
        "/v1/responses",
        b"not json",
        None,
        "openai",
    )


def test_wait_for_requests_times_out(fake_server: FakeServer) -> None:
    with pytest.raises(TimeoutError):
        fake_server.wait_for_requests(1, timeout=0.05)


def test_sync_client_and_base_urls(fake_server: FakeServer) -> None:
    assert fake_server.base_url("openai") == f"http://127.0.0.1:{fake_server.port}/v1"
    assert fake_server.base_url("openai-chat").endswith("/v1")
    assert fake_server.base_url("anthropic") == f"http://127.0.0.1:{fake_server.port}"
    assert fake_server.base_url("google") == fake_server.base_url("anthropic")
    with pytest.raises(ValueError):
        fake_server.base_url("nope")
    fake_server.enqueue(Reply([Text("sync")]))
    response = httpx.post(url_for(fake_server, "anthropic"), json={}, trust_env=False, verify=False)
    assert response.status_code == 200
    assert payloads(response.content)[-1]["type"] == "message_stop"


async def test_raw_serves_recorded_bytes_in_given_chunks(
    fake_server: FakeServer, fixtures_dir: Path
) -> None:
    data = (fixtures_dir / "anthropic" / "01_text_basic.sse").read_bytes()
    fake_server.enqueue(Raw(data, chunk_sizes=[1, 2, 3, 50, 7], headers={"x-extra": "1"}))
    response = await post(url_for(fake_server, "anthropic"))
    assert response.content == data
    assert response.headers["x-extra"] == "1"
    assert "content-length" not in response.headers

    body = (fixtures_dir / "anthropic" / "http_errors" / "404_not_found_error.json").read_bytes()
    fake_server.enqueue(Raw(body, status=404, content_type="application/json"))
    response = await post(url_for(fake_server, "anthropic"))
    assert (response.status_code, response.content) == (404, body)
    assert response.headers["content-length"] == str(len(body))


@pytest.mark.parametrize("fmt", FORMATS)
async def test_split_writes_same_bytes(fake_server: FakeServer, fmt: str) -> None:
    fake_server.enqueue(full_reply(), full_reply(split=7))
    whole = (await post(url_for(fake_server, fmt))).content
    split = (await post(url_for(fake_server, fmt))).content

    def serial_free(body: bytes) -> bytes:
        return re.sub(rb"fake(Resp)?\d{6}", b"fakeN", body)

    assert serial_free(whole) == serial_free(split)


async def test_delay_and_event_delay(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("abcdefgh")], delay=0.2))
    started = time.monotonic()
    async with (
        httpx.AsyncClient(trust_env=False, verify=False) as client,
        client.stream("POST", url_for(fake_server, "openai-chat"), json={}) as response,
    ):
        assert time.monotonic() - started >= 0.2
        await response.aread()

    # 1 role chunk + 2 deltas + finish + usage + [DONE] = 6 events.
    fake_server.enqueue(Reply([Text("abcdefgh")], event_delay=0.04))
    started = time.monotonic()
    await post(url_for(fake_server, "openai-chat"))
    assert time.monotonic() - started >= 6 * 0.04


async def test_paced_stream_keeps_its_schedule_and_its_bytes(fake_server: FakeServer) -> None:
    text = "abcd" * 30  # 30 deltas + role chunk + finish + usage + [DONE] = 34 events
    fake_server.enqueue(Reply([Text(text)]), Reply([Text(text)], pace=200))
    whole = (await post(url_for(fake_server, "openai-chat"))).content
    started = time.monotonic()
    paced = (await post(url_for(fake_server, "openai-chat"))).content
    elapsed = time.monotonic() - started
    assert re.sub(rb"fake\d{6}", b"N", paced) == re.sub(rb"fake\d{6}", b"N", whole)
    # The last of 34 events is due 33 / 200 s after the first.
    assert elapsed >= 33 / 200
    first, second = fake_server.streams
    assert first.first_byte <= first.last_byte <= second.first_byte <= second.last_byte
    assert second.last_byte - second.first_byte >= 33 / 200
    with pytest.raises(ValueError, match="pace"):
        Reply([Text("x")], pace=-1)


async def test_concurrent_connections(fake_server: FakeServer) -> None:
    # The first reply stalls for longer than the test runs; served one after the
    # other, the next two would wait behind it.
    fake_server.enqueue(
        full_reply(fault=Fault("stall", after_events=1, seconds=30)),
        Reply([Text("x" * 28)]),
        Reply([Text("y" * 28)]),
    )
    stalled = asyncio.create_task(post(url_for(fake_server, "anthropic"), read_timeout=60))
    try:
        await fake_server.wait_for_requests_async(1)
        bodies = await asyncio.gather(*(post(url_for(fake_server, "anthropic")) for _ in range(2)))
        assert not stalled.done()
        assert all(payloads(b.content)[-1]["type"] == "message_stop" for b in bodies)
    finally:
        stalled.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stalled


async def test_stop_closes_open_connections() -> None:
    server = FakeServer()
    server.start()
    try:
        server.enqueue(Reply([Text("abc")], fault=Fault("stall", seconds=30)))
        async with (
            httpx.AsyncClient(trust_env=False, verify=False, timeout=5.0) as client,
            client.stream("POST", url_for(server, "openai"), json={}) as response,
        ):
            assert response.status_code == 200
            await asyncio.to_thread(server.stop)
            body = await response.aread()
    finally:
        server.stop()
    assert body == b""


# -- scripts -------------------------------------------------------------------------------------


def test_usage_defaults_and_partial_usage() -> None:
    reply = Reply([Thinking("t" * 40), Text("x" * 20), ToolCall("f", '{"a":1}')])
    usage = reply.token_usage()
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] == 7  # ceil((20 + 7) / 4)
    assert usage["thinking_tokens"] == 10
    assert reply.finish_reason() == "tool_use"
    partial = Reply([Text("x")], usage={"output_tokens": 5})
    assert partial.token_usage() == {
        "input_tokens": 0,
        "output_tokens": 5,
        "thinking_tokens": 0,
        "cached_tokens": 0,
    }
    assert partial.finish_reason() == "stop"


def test_invalid_scripts_are_rejected() -> None:
    with pytest.raises(ValueError):
        Fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Reply(usage={"tokens": 1})
    with pytest.raises(TypeError):
        Reply(["text"])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        reply_from_dict({"stpes": []})
    with pytest.raises(ValueError):
        http_error(200)


def test_reply_from_dict() -> None:
    reply = reply_from_dict(
        {
            "steps": [
                {"thinking": "hm", "signature": None},
                {"text": "hi", "chunk": 1},
                {"tool_call": {"name": "f", "arguments": {"a": 1}, "id": "c1"}},
            ],
            "finish": "length",
            "usage": {"input_tokens": 1},
            "fault": {"kind": "cut", "after_events": 2},
            "event_delay": 0.01,
        }
    )
    assert isinstance(reply, Reply)
    assert reply.steps == [
        Thinking("hm", signature=None),
        Text("hi", chunk=1),
        ToolCall("f", {"a": 1}, id="c1"),
    ]
    assert reply.fault == Fault("cut", after_events=2)
    assert (reply.finish, reply.event_delay) == ("length", 0.01)
    raw = reply_from_dict({"raw": "data: x\n\n", "status": 200})
    assert isinstance(raw, Raw) and raw.data == b"data: x\n\n"


def test_command_line_serves_a_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"steps": [{"text": "from the script"}]}]))
    assert len(load_script(script)) == 1
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakeserver",
            "--port",
            "0",
            "--script",
            str(script),
            "--loop",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        for _ in range(2):  # --loop serves the script again
            response = httpx.post(
                f"{base}/v1/messages", json={}, trust_env=False, verify=False, timeout=5
            )
            deltas = [
                e["delta"] for e in payloads(response.content) if e["type"] == "content_block_delta"
            ]
            assert "".join(d["text"] for d in deltas) == "from the script"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
