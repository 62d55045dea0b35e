"""The provider contract, one table for the four wire formats, over real sockets.

Every row runs against ``openai-chat``, ``openai`` (Responses), ``anthropic`` and
``google`` through the loopback fake server, which renders the same script in
each vendor's format: event order (``start`` once first, content, exactly one
``done`` or ``error`` last, nothing after), tool-call ordinals, what a cut, a
reset, broken JSON, an error event, a stall, a drip, a body that is not an event
stream and an oversized event become, retries, HTTP statuses, secrets that must
never show, chunking that must not matter, and a 200,000-delta answer.

The per-provider test files keep only what is particular to one vendor.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikigai.providers.base import HttpProvider
from ikigai.providers.events import (
    ERROR_CATEGORIES,
    FINISH_REASONS,
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
)
from ikigai.providers.http import ProviderOptions, close_shared_client
from ikigai.providers.normalizer import NOT_AN_EVENT_STREAM
from ikigai.providers.registry import create_provider
from ikigai.providers.request import Message, Request
from ikigai.providers.sse import DEFAULT_MAX_EVENT_BYTES, SSEDecoder
from tests.fakeserver import FakeServer, Fault, Raw, Reply, Text, Thinking, ToolCall, http_error
from tests.fakeserver.base import RenderContext, default_error_message
from tests.fakeserver.server import RENDERERS

PROVIDERS = ("openai-chat", "openai", "anthropic", "google")
MODELS = {
    "openai-chat": "gpt-4o",
    "openai": "gpt-4.1",
    "anthropic": "claude-sonnet-4-5",
    "google": "gemini-2.5-flash",
}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RECORDING_DIRS = {
    "openai-chat": "openai-chat",
    "openai": "openai-responses",
    "anthropic": "anthropic",
    "google": "gemini",
}
RECORDINGS = [
    (pid, path.name)
    for pid in PROVIDERS
    for path in sorted((FIXTURES / RECORDING_DIRS[pid]).glob("*.sse"))
]

LONG = "The answer goes on and on for quite a while."  # 11 deltas of 4 characters
BEFORE_THE_END = 8
"""Events after which every format has delivered text but not yet its stop reason."""
SECRET = "sk-ikg-7Qz9XwLp2Rv8Nt4Ys6Hb"
HEADER_SECRET = "hdr-Zk81Qw93LmP0Vx"


# -- helpers -----------------------------------------------------------------------------------


def options(base_url: str, **overrides: Any) -> ProviderOptions:
    values: dict[str, Any] = {
        "api_key": SECRET,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "read_timeout": 5.0,
        "max_retries": 0,
    }
    values.update(overrides)
    return ProviderOptions(base_url=base_url, **values)


def make(server: FakeServer, pid: str, **overrides: Any) -> HttpProvider:
    return create_provider(pid, options(server.base_url(pid), **overrides))


def request_for(pid: str) -> Request:
    return Request(model=MODELS[pid], messages=[Message.user("hi")])


async def collect(provider: HttpProvider, pid: str) -> list[ProviderEvent]:
    return [event async for event in provider.stream(request_for(pid))]


def contract(events: Iterable[ProviderEvent]) -> list[StreamEvent]:
    """Check the contract's order; return the events without retry notices.

    Retry notices only before ``start``; ``start`` once, first; exactly one
    terminal event, last; tool calls numbered 0, 1, ... in the order they
    start, each ``start -> delta* -> done`` with at most one ``done``; after
    ``done`` every call that started has ended.
    """
    content: list[StreamEvent] = []
    for event in events:
        if isinstance(event, Retry):
            assert not content, f"retry after the stream began: {event}"
            continue
        content.append(event)
    assert content, "no events"
    assert isinstance(content[0], Start), content[0]
    assert sum(isinstance(e, Start) for e in content) == 1
    assert isinstance(content[-1], Done | Error), content[-1]
    assert not any(isinstance(e, Done | Error) for e in content[:-1])
    calls: dict[int, str] = {}
    for event in content[1:-1]:
        if isinstance(event, TextDelta | ThinkingDelta):
            assert type(event.index) is int and event.index >= 0
            assert isinstance(event.text, str) and event.text
        elif isinstance(event, ToolCallStart):
            assert event.index == len(calls), f"ordinal {event.index} after {len(calls)} calls"
            assert isinstance(event.id, str) and event.id and isinstance(event.name, str)
            calls[event.index] = "open"
        elif isinstance(event, ToolCallDelta):
            assert calls.get(event.index) == "open", f"delta for call {event.index}"
            assert isinstance(event.arguments, str) and event.arguments
        elif isinstance(event, ToolCallDone):
            assert calls.get(event.index) == "open", f"done for call {event.index}"
            calls[event.index] = "done"
    terminal = content[-1]
    if isinstance(terminal, Done):
        assert all(state == "done" for state in calls.values())
        assert terminal.finish_reason in FINISH_REASONS
        assert all(type(v) is int and v >= 0 for v in terminal.usage.to_dict().values())
    else:
        assert terminal.category in ERROR_CATEGORIES
    return content


def text_of(events: Iterable[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def thinking_of(events: Iterable[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


def calls_of(events: Iterable[object]) -> list[tuple[int, str, str, Any]]:
    """(ordinal, id, name, parsed arguments) of every finished tool call."""
    calls: dict[int, list[Any]] = {}
    done: list[int] = []
    for event in events:
        if isinstance(event, ToolCallStart):
            calls[event.index] = [event.id, event.name, ""]
        elif isinstance(event, ToolCallDelta):
            calls[event.index][2] += event.arguments
        elif isinstance(event, ToolCallDone):
            done.append(event.index)
    return [(i, calls[i][0], calls[i][1], json.loads(calls[i][2])) for i in done]


def terminal(events: list[StreamEvent]) -> Done | Error:
    last = events[-1]
    assert isinstance(last, Done | Error)
    return last


def error_of(events: list[StreamEvent]) -> Error:
    last = events[-1]
    assert isinstance(last, Error), last
    return last


def rendered(pid: str, reply: Reply) -> list[bytes]:
    """The events of ``reply`` in ``pid``'s wire format, as the fake server sends them."""
    path = "/v1beta/models/m:streamGenerateContent" if pid == "google" else "/"
    query = "alt=sse" if pid == "google" else ""
    return RENDERERS[pid](RenderContext(1, path, query)).events(reply)


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def normalize(pid: str, chunks: Iterable[bytes]) -> list[StreamEvent]:
    """The provider's own decoder and normalizer, in process, on ``chunks``."""
    provider = create_provider(pid, options("http://127.0.0.1:9"))
    decoder = provider.sse_decoder()
    normalizer = provider.normalizer(request_for(pid))
    out: list[StreamEvent] = []
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            out.extend(normalizer.feed(sse))
    out.extend(normalizer.finish(decoder.pending))
    return out


def watch_decoders(provider: HttpProvider) -> list[SSEDecoder]:
    """The decoders ``provider`` creates from now on (to look at what they held)."""
    decoders: list[SSEDecoder] = []
    make_decoder = provider.sse_decoder

    def recording() -> SSEDecoder:
        decoder = make_decoder()
        decoders.append(decoder)
        return decoder

    provider.sse_decoder = recording  # type: ignore[method-assign]
    return decoders


def shows(secret: str, text: str, run: int = 6) -> bool:
    """Whether any ``run`` consecutive characters of ``secret`` appear in ``text``."""
    return any(secret[i : i + run] in text for i in range(len(secret) - run + 1))


def messages_of(events: Iterable[ProviderEvent]) -> list[str]:
    return [e.message for e in events if isinstance(e, Error | Retry)]


# -- order, content, tool calls ----------------------------------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_events_come_in_the_contract_order_with_tool_call_ordinals(
    fake_server: FakeServer, pid: str
) -> None:
    fake_server.enqueue(
        Reply(
            [
                Thinking("Let me think about it.", signature="c2lnbmF0dXJl"),
                Text("Three calls follow."),
                ToolCall("read", {"path": "a.txt"}, id="call_a"),
                ToolCall("read", {"path": "b.txt"}, id="call_b"),
                ToolCall("list", {}, id="call_c"),
            ]
        )
    )
    events = contract(await collect(make(fake_server, pid), pid))
    assert thinking_of(events) == "Let me think about it."
    assert text_of(events) == "Three calls follow."
    calls = calls_of(events)
    assert [(i, name, args) for i, _, name, args in calls] == [
        (0, "read", {"path": "a.txt"}),
        (1, "read", {"path": "b.txt"}),
        (2, "list", {}),
    ]
    ids = [call_id for _, call_id, _, _ in calls]
    if pid == "google":  # Gemini sends no ids: the provider makes unique ones
        assert len(set(ids)) == 3
    else:
        assert ids == ["call_a", "call_b", "call_c"]
    done = terminal(events)
    assert isinstance(done, Done) and done.finish_reason == "tool_use"


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize("finish", ["stop", "length", "content_filter"])
async def test_finish_reasons(fake_server: FakeServer, pid: str, finish: Any) -> None:
    fake_server.enqueue(Reply([Text("Some text.")], finish=finish))
    events = contract(await collect(make(fake_server, pid), pid))
    assert text_of(events) == "Some text."
    done = terminal(events)
    assert isinstance(done, Done) and done.finish_reason == finish


def orphan_stream(pid: str) -> bytes:
    """Text, a tool-call delta for a call that never started, a real call, a late delta.

    Gemini is not in this row: its function calls arrive whole in one part, so
    its wire has no way to send a fragment of a call.
    """

    def events(*payloads: Any, named: bool = False) -> bytes:
        out = b""
        for payload in payloads:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            head = f"event: {payload['type']}\n" if named and not isinstance(payload, str) else ""
            out += f"{head}data: {data}\n\n".encode()
        return out

    if pid == "openai-chat":

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return {"id": "c1", "model": "m", "choices": [choice]}

        start = {"index": 0, "id": "call_a", "function": {"name": "f", "arguments": ""}}
        return events(
            chunk({"role": "assistant", "content": "Hi"}),
            chunk({"tool_calls": [{"index": 5, "function": {"arguments": '{"x": 1}'}}]}),
            chunk({"tool_calls": [start]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]}),
            chunk({}, "tool_calls"),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": "junk"}}]}),
            "[DONE]",
        )
    if pid == "openai":
        call = {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "f"}
        return events(
            {"type": "response.created", "response": {"id": "r1", "model": "m"}},
            {"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"},
            {"type": "response.function_call_arguments.delta", "output_index": 7, "delta": "{}"},
            {"type": "response.output_item.added", "output_index": 1, "item": call},
            {
                "type": "response.function_call_arguments.delta",
                "output_index": 1,
                "delta": '{"a": 1}',
            },
            {
                "type": "response.function_call_arguments.done",
                "output_index": 1,
                "arguments": '{"a": 1}',
            },
            {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "junk"},
            {"type": "response.completed", "response": {"id": "r1", "status": "completed"}},
            named=True,
        )
    assert pid == "anthropic"
    return events(
        {"type": "message_start", "message": {"id": "m1", "model": "m", "usage": {}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_delta",
            "index": 3,
            "delta": {"type": "input_json_delta", "partial_json": '{"x": 1}'},
        },
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "call_a", "name": "f", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "junk"},
        },
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}},
        {"type": "message_stop"},
        named=True,
    )


@pytest.mark.parametrize("pid", ["openai-chat", "openai", "anthropic"])
async def test_a_delta_for_a_call_that_never_started_or_already_ended_is_dropped(
    fake_server: FakeServer, pid: str
) -> None:
    fake_server.enqueue(Raw(orphan_stream(pid)))
    events = contract(await collect(make(fake_server, pid), pid))
    assert text_of(events) == "Hi"
    assert [e for e in events if isinstance(e, ToolCallStart | ToolCallDelta | ToolCallDone)] == [
        ToolCallStart(0, "call_a", "f"),
        ToolCallDelta(0, '{"a": 1}'),
        ToolCallDone(0),
    ]
    done = terminal(events)
    assert isinstance(done, Done) and done.finish_reason == "tool_use"


# -- cuts, resets, broken data, error events ---------------------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize("kind", ["cut", "reset"])
async def test_a_cut_before_the_stop_reason_is_network_keeping_the_text(
    fake_server: FakeServer, pid: str, kind: Any
) -> None:
    fake_server.enqueue(Reply([Text(LONG)], fault=Fault(kind, after_events=BEFORE_THE_END)))
    events = contract(await collect(make(fake_server, pid, max_retries=3), pid))
    assert text_of(events) and LONG.startswith(text_of(events))
    assert text_of(events) != LONG
    assert error_of(events).category == "network"
    assert len(fake_server.requests) == 1  # content arrived: never retried


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize("kind", ["cut", "reset"])
async def test_a_failure_before_any_content_is_retried(
    fake_server: FakeServer, pid: str, kind: Any
) -> None:
    fake_server.enqueue(
        Reply([Text(LONG)], fault=Fault(kind, after_events=0)), Reply([Text("second try")])
    )
    raw = await collect(make(fake_server, pid, max_retries=2), pid)
    assert isinstance(raw[0], Retry) and raw[0].category == "network"
    events = contract(raw)
    assert text_of(events) == "second try"
    assert isinstance(terminal(events), Done)
    assert len(fake_server.requests) == 2


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_malformed_json_is_a_server_error(fake_server: FakeServer, pid: str) -> None:
    fake_server.enqueue(Reply([Text(LONG)], fault=Fault("malformed", after_events=BEFORE_THE_END)))
    events = contract(await collect(make(fake_server, pid, max_retries=3), pid))
    assert text_of(events) and LONG.startswith(text_of(events))
    error = error_of(events)
    assert error.category == "server" and "malformed JSON" in error.message
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_an_error_event_after_content_ends_the_stream(
    fake_server: FakeServer, pid: str
) -> None:
    fake_server.enqueue(
        Reply([Text(LONG)], fault=Fault("error_event", after_events=BEFORE_THE_END))
    )
    events = contract(await collect(make(fake_server, pid, max_retries=3), pid))
    assert text_of(events) and LONG.startswith(text_of(events))
    assert error_of(events).category == "server"
    assert len(fake_server.requests) == 1


# -- stalls, drips, deadlines ------------------------------------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_stall_after_content_is_a_timeout(fake_server: FakeServer, pid: str) -> None:
    fake_server.enqueue(
        Reply([Text(LONG)], fault=Fault("stall", after_events=BEFORE_THE_END, seconds=5))
    )
    events = contract(await collect(make(fake_server, pid, read_timeout=0.3), pid))
    assert text_of(events) and LONG.startswith(text_of(events))
    assert error_of(events).category == "timeout"


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_short_stall_is_survived(fake_server: FakeServer, pid: str) -> None:
    fake_server.enqueue(
        Reply([Text(LONG)], fault=Fault("stall", after_events=BEFORE_THE_END, seconds=0.2))
    )
    events = contract(await collect(make(fake_server, pid, read_timeout=3.0), pid))
    assert text_of(events) == LONG
    assert isinstance(terminal(events), Done)


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_headers_then_silence_fail_once_and_are_not_retried(
    fake_server: FakeServer, pid: str
) -> None:
    fake_server.enqueue(Reply([Text(LONG)], fault=Fault("stall", after_events=0, seconds=10)))
    raw = await collect(make(fake_server, pid, read_timeout=0.3, max_retries=4), pid)
    events = contract(raw)
    assert len(events) == 2 and len(raw) == 2  # no retry notice
    error = error_of(events)
    assert error.category == "timeout" and "no event" in error.message
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_stall_retries_allow_a_bounded_retry(fake_server: FakeServer, pid: str) -> None:
    fake_server.enqueue(
        Reply([Text(LONG)], fault=Fault("stall", after_events=0, seconds=10)),
        Reply([Text(LONG)], fault=Fault("stall", after_events=0, seconds=10)),
        Reply([Text("unused")]),
    )
    provider = make(fake_server, pid, read_timeout=0.3, max_retries=4, stall_retries=1)
    raw = await collect(provider, pid)
    assert [type(e) for e in raw] == [Retry, Start, Error]
    assert raw[0].category == "timeout"  # type: ignore[union-attr]
    assert error_of(contract(raw)).category == "timeout"
    assert len(fake_server.requests) == 2


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_no_response_headers_within_the_idle_timeout(
    fake_server: FakeServer, pid: str
) -> None:
    fake_server.enqueue(Reply([Text(LONG)], delay=10))
    events = contract(await collect(make(fake_server, pid, read_timeout=0.3, max_retries=4), pid))
    assert len(events) == 2
    assert error_of(events).category == "timeout"
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize("after", [0, BEFORE_THE_END])
async def test_a_drip_that_never_completes_an_event_in_time_is_a_timeout(
    fake_server: FakeServer, pid: str, after: int
) -> None:
    fake_server.enqueue(Reply([Text(LONG)], fault=Fault("drip", after_events=after, seconds=0.05)))
    events = contract(await collect(make(fake_server, pid, read_timeout=0.5, max_retries=4), pid))
    assert LONG.startswith(text_of(events))
    assert bool(text_of(events)) == bool(after)
    error = error_of(events)
    assert error.category == "timeout"
    assert "bytes but no complete event" in error.message
    assert len(fake_server.requests) == 1


# -- bodies that are not an event stream, events too large -------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize(
    ("body", "content_type", "category", "shown"),
    [
        (
            b'{"id": "x", "choices": [{"message": {"content": "a whole answer"}}]}',
            "application/json",
            "server",
            "a whole answer",
        ),
        (
            b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head></html>",
            "text/html; charset=utf-8",
            "server",
            "Sign in to the network",
        ),
        (
            b'{"error": {"message": "Invalid API key.", "code": "invalid_api_key"}}',
            "application/json",
            "auth",
            "Invalid API key.",
        ),
        (b"\r\n  <html>a proxy page</html>", "text/event-stream", "server", "a proxy page"),
    ],
    ids=["json", "html", "json-error", "html-labelled-as-a-stream"],
)
async def test_a_200_that_is_not_an_event_stream_is_a_clear_error(
    fake_server: FakeServer, pid: str, body: bytes, content_type: str, category: str, shown: str
) -> None:
    fake_server.enqueue(Raw(body, content_type=content_type))
    events = contract(await collect(make(fake_server, pid, max_retries=3), pid))
    assert len(events) == 2
    error = error_of(events)
    assert error.category == category
    assert error.message.startswith(NOT_AN_EVENT_STREAM)
    assert shown in error.message and content_type in error.message
    assert len(fake_server.requests) == 1  # not retried


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_an_oversized_event_ends_the_stream_with_the_decoder_bounded(
    fake_server: FakeServer, pid: str
) -> None:
    cap = 256 * 1024
    head = b"".join(rendered(pid, Reply([Text(LONG)]))[:BEFORE_THE_END])
    huge = b'data: {"text": "' + b"x" * (4 * 1024 * 1024) + b'"}\n\n'
    fake_server.enqueue(Raw(head + huge))
    provider = make(fake_server, pid, max_event_bytes=cap)
    decoders = watch_decoders(provider)
    events = contract(await collect(provider, pid))
    assert text_of(events) and LONG.startswith(text_of(events))
    error = error_of(events)
    assert error.category == "server"
    assert f"{cap:,} bytes" in error.message and "max_event_bytes" in error.message
    (decoder,) = decoders
    assert 0 < decoder.peak_buffered <= cap
    assert decoder.buffered == 0


async def test_the_default_event_cap_is_16_mib(fake_server: FakeServer) -> None:
    huge = b"data: " + b"y" * (DEFAULT_MAX_EVENT_BYTES + 1024 * 1024) + b"\n\n"
    fake_server.enqueue(Raw(huge))
    provider = make(fake_server, "anthropic", max_retries=2)
    decoders = watch_decoders(provider)
    events = contract(await collect(provider, "anthropic"))
    assert len(events) == 2
    error = error_of(events)
    assert error.category == "server" and f"{DEFAULT_MAX_EVENT_BYTES:,} bytes" in error.message
    assert len(decoders) == 1 and len(fake_server.requests) == 1  # not retried
    assert decoders[0].peak_buffered <= DEFAULT_MAX_EVENT_BYTES


# -- keys and header values ----------------------------------------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize(
    "key",
    [SECRET + "\r", SECRET + "\n", SECRET[:10] + "é" + SECRET[10:], " " + SECRET],
    ids=["crlf-file", "lf-file", "non-ascii", "leading-space"],
)
async def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(
    fake_server: FakeServer, pid: str, key: str
) -> None:
    events = contract(await collect(make(fake_server, pid, api_key=key, max_retries=3), pid))
    assert len(events) == 2
    error = error_of(events)
    assert error.category == "invalid_arg" and "API key" in error.message
    assert not shows(key.strip(), error.message)
    assert fake_server.requests == []  # nothing was sent


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_header_value_that_cannot_be_sent_is_refused_without_showing_it(
    fake_server: FakeServer, pid: str
) -> None:
    provider = make(fake_server, pid, headers={"X-Team-Token": HEADER_SECRET + "\r"})
    events = contract(await collect(provider, pid))
    error = error_of(events)
    assert error.category == "invalid_arg" and "X-Team-Token" in error.message
    assert not shows(HEADER_SECRET, error.message)
    assert fake_server.requests == []


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_key_or_header_echoed_by_the_server_is_masked(
    fake_server: FakeServer, pid: str
) -> None:
    echo = f"upstream refused key {SECRET} and token {HEADER_SECRET}"
    fake_server.enqueue(
        http_error(500, body={"error": {"message": echo, "code": 500}}),
        http_error(401, body={"error": {"message": echo, "code": "invalid_api_key"}}),
        Reply(
            [Text(LONG)],
            fault=Fault(
                "error_event",
                after_events=BEFORE_THE_END,
                error={"message": echo, "type": "server_error", "code": "server_error"},
            ),
        ),
    )
    provider = make(fake_server, pid, max_retries=1, headers={"X-Team-Token": HEADER_SECRET})
    first = await collect(provider, pid)
    second = await collect(provider, pid)
    assert isinstance(first[0], Retry)
    assert error_of(contract(first)).category == "auth"
    assert text_of(contract(second))
    shown = messages_of(first + second)
    assert len(shown) == 3
    for message in shown:
        assert "***" in message
        assert not shows(SECRET, message) and not shows(HEADER_SECRET, message)
    # The server did receive them: masking is for messages only.
    assert all(HEADER_SECRET in r.headers.values() for r in fake_server.requests)


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_a_password_in_the_base_url_is_masked_in_transport_errors(pid: str) -> None:
    password = "pw-9f8e7d6c5b4a3"
    base = f"http://user:{password}@127.0.0.1:9" + ("/v1" if pid.startswith("openai") else "")
    provider = create_provider(pid, options(base, max_retries=1))
    events = await collect(provider, pid)
    assert [type(e) for e in events] == [Retry, Start, Error]
    for message in messages_of(events):
        assert "127.0.0.1:9" in message and "***" in message
        assert password not in message


# -- retries and HTTP statuses -------------------------------------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
@pytest.mark.parametrize(
    ("status", "category", "retried"),
    [
        (400, "invalid_arg", False),
        (401, "auth", False),
        (403, "auth", False),
        (404, "not_found", False),
        (429, "rate_limit", True),
        (500, "server", True),
        (503, "server", True),
        (529, "server", True),
    ],
)
async def test_http_statuses(
    fake_server: FakeServer, pid: str, status: int, category: str, retried: bool
) -> None:
    fake_server.enqueue(http_error(status), Reply([Text("recovered")]))
    raw = await collect(make(fake_server, pid, max_retries=1), pid)
    events = contract(raw)
    message = f"HTTP {status}: {default_error_message(status)}"
    if retried:
        retry = raw[0]
        assert isinstance(retry, Retry)
        assert (retry.attempt, retry.max_attempts, retry.http_status) == (1, 1, status)
        assert (retry.category, retry.message) == (category, message)
        assert text_of(events) == "recovered" and isinstance(terminal(events), Done)
        assert len(fake_server.requests) == 2
    else:
        assert len(raw) == 2
        assert error_of(events) == Error(category, message, status, None)
        assert len(fake_server.requests) == 1


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_connection_refused_is_a_network_error_naming_the_url(pid: str) -> None:
    base = "http://127.0.0.1:9" + ("/v1" if pid.startswith("openai") else "")
    events = await collect(create_provider(pid, options(base, max_retries=1)), pid)
    assert [type(e) for e in events] == [Retry, Start, Error]
    error = error_of(contract(events))
    assert error.category == "network" and "127.0.0.1:9" in error.message


# -- chunking never matters ----------------------------------------------------------------------


def script_bytes(pid: str) -> bytes:
    steps: list[Any] = [
        Thinking("Reasoning — with ünïcode 日本語 and emoji 🎉.", chunk=3),
        Text("An answer\u2028with a line separator.", chunk=5),
        ToolCall("read", {"path": "ä.txt"}, id="call_x", chunk=3),
    ]
    return b"".join(rendered(pid, Reply(steps)))


CHUNKING_INPUTS = [(pid, "script") for pid in PROVIDERS] + RECORDINGS


def chunking_input(pid: str, name: str) -> bytes:
    if name == "script":
        return script_bytes(pid)
    return (FIXTURES / RECORDING_DIRS[pid] / name).read_bytes()


@pytest.mark.parametrize(("pid", "name"), CHUNKING_INPUTS)
@settings(max_examples=50)
@given(data=st.data())
def test_any_split_gives_the_same_events(pid: str, name: str, data: st.DataObject) -> None:
    body = chunking_input(pid, name)
    whole = normalize(pid, [body])
    contract(whole)
    cuts = data.draw(st.lists(st.integers(1, len(body) - 1), max_size=40), label="cuts")
    assert normalize(pid, split(body, cuts)) == whole


@pytest.mark.parametrize(("pid", "name"), CHUNKING_INPUTS)
def test_byte_by_byte_gives_the_same_events(pid: str, name: str) -> None:
    body = chunking_input(pid, name)
    assert normalize(pid, split(body, range(1, len(body)))) == normalize(pid, [body])


@pytest.mark.parametrize(("pid", "name"), CHUNKING_INPUTS)
@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_chunking_over_the_socket_gives_the_same_events(
    fake_server: FakeServer, pid: str, name: str, data: st.DataObject
) -> None:
    body = chunking_input(pid, name)
    sizes = data.draw(st.lists(st.integers(1, 64), min_size=1, max_size=60), label="writes")
    fake_server.enqueue(Raw(body, chunk_sizes=sizes))

    async def run() -> list[ProviderEvent]:
        try:
            return await collect(make(fake_server, pid), pid)
        finally:
            await close_shared_client()

    assert asyncio.run(run()) == normalize(pid, [body])


# -- payloads of any shape -----------------------------------------------------------------------

KEYS = [
    "type", "id", "model", "index", "choices", "delta", "content", "text", "tool_calls",
    "function", "arguments", "name", "finish_reason", "usage", "error", "message",
    "content_block", "partial_json", "stop_reason", "response", "item", "output_index",
    "output", "status", "candidates", "parts", "functionCall", "args", "finishReason",
    "usageMetadata", "promptTokenCount", "prompt_tokens", "input_tokens", "thought",
]  # fmt: skip
TYPES = [
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "error", "text_delta", "input_json_delta",
    "response.created", "response.output_text.delta", "response.output_item.added",
    "response.output_item.done", "response.function_call_arguments.delta",
    "response.function_call_arguments.done", "response.completed", "response.failed",
]  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(TYPES),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.mark.parametrize("pid", PROVIDERS)
@settings(max_examples=150)
@given(data=st.data())
def test_a_payload_of_any_shape_never_breaks_the_contract(pid: str, data: st.DataObject) -> None:
    events = rendered(pid, Reply([Text("Hello there."), ToolCall("f", {"a": 1}, id="call_1")]))
    hostile = data.draw(JSON_VALUES, label="payload")
    position = data.draw(st.integers(0, len(events)), label="position")
    name = hostile.get("type") if isinstance(hostile, dict) else None
    head = f"event: {name}\n" if isinstance(name, str) and name.isprintable() else ""
    inserted = f"{head}data: {json.dumps(hostile)}\n\n".encode()
    body = b"".join([*events[:position], inserted, *events[position:]])
    contract(normalize(pid, [body]))


# -- a long answer --------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_an_answer_of_200000_deltas_completes_with_the_right_text(
    fake_server: FakeServer, pid: str
) -> None:
    text = "".join(f"{i % 10}" for i in range(200_000))
    fake_server.enqueue(Reply([Text(text, chunk=1)]))
    pieces: list[str] = []
    deltas = 0
    last: ProviderEvent | None = None
    async for event in make(fake_server, pid, read_timeout=60.0).stream(request_for(pid)):
        if type(event) is TextDelta:
            pieces.append(event.text)
            deltas += 1
        last = event
    assert deltas == 200_000
    assert "".join(pieces) == text
    assert isinstance(last, Done) and last.finish_reason == "stop"


# -- sampling and stop details (issue 16) -------------------------------------------------------

SAMPLING_FIELDS = {
    "openai-chat": lambda body: body.get("temperature"),
    "openai": lambda body: body.get("temperature"),
    "anthropic": lambda body: body.get("temperature"),
    "google": lambda body: body.get("generationConfig", {}).get("temperature"),
}


@pytest.mark.parametrize("pid", PROVIDERS)
async def test_temperature_reaches_models_that_take_it_and_a_plain_end_has_no_detail(
    fake_server: FakeServer, pid: str
) -> None:
    fake_server.enqueue(Reply(steps=[Text("ok")]))
    request = Request(model=MODELS[pid], messages=[Message.user("hi")], temperature=0.25)
    events = contract([e async for e in make(fake_server, pid).stream(request)])
    done = terminal(events)
    assert isinstance(done, Done)
    assert (done.detail, done.explanation, done.server_tools, done.paused) == (
        None,
        None,
        (),
        False,
    )
    assert "detail" not in done.to_dict()  # not part of the wire contract
    assert SAMPLING_FIELDS[pid](fake_server.requests[-1].json) == 0.25
