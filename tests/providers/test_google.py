"""The Gemini provider: request bodies, stream normalization, replay and failures.

Golden tests serve every recording in tests/fixtures/gemini/ over a real socket;
round-trip tests compare the bodies built for later turns with the recorded
requests. What every provider must do (order, ordinals, faults, retries,
statuses, chunking) is in test_contract.py; this file keeps Gemini's quirks.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

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
    Usage,
)
from ikigai.providers.google import (
    SKIP_SIGNATURE,
    GeminiNormalizer,
    GoogleProvider,
    model_spec,
    thinking_config,
)
from ikigai.providers.http import ProviderOptions
from ikigai.providers.request import (
    Message,
    Request,
    TextBlock,
    ThinkingBlock,
    ThinkingLevel,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)
from ikigai.providers.sse import SSEDecoder
from tests.fakeserver import Fault, Raw, Reply, Text, Thinking, ToolCall, http_error

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gemini"
SSE_FILES = sorted(p.name for p in FIXTURES.glob("*.sse"))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded_request(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def recorded_chunks(name: str) -> list[dict[str, Any]]:
    """The JSON payloads of a recording, parsed independently of ``SSEDecoder``."""
    text = fixture(name).decode("utf-8")
    out = []
    for block in text.split("\r\n\r\n"):
        if block.strip():
            assert block.startswith("data: ")
            out.append(json.loads(block[len("data: ") :]))
    return out


def normalize(data: bytes, cuts: list[int] | None = None, model: str = "m") -> list[StreamEvent]:
    """Feed ``data`` (split at ``cuts``) through ``SSEDecoder`` and the normalizer."""
    decoder = SSEDecoder()
    normalizer = GeminiNormalizer(model)
    events: list[StreamEvent] = []
    bounds = [0, *sorted(set(cuts or [])), len(data)]
    for start, end in itertools.pairwise(bounds):
        for sse in decoder.feed(data[start:end]):
            events.extend(normalizer.feed(sse))
    if not events or events[-1].type not in ("done", "error"):
        events.extend(normalizer.finish(decoder.pending))
    return events


def text_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def thinking_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


def contract_events(events: list[Any]) -> list[Any]:
    """The events without retry notices."""
    return [e for e in events if e.type != "retry"]


def assert_contract_order(events: list[Any]) -> None:
    events = contract_events(events)
    assert isinstance(events[0], Start)
    assert events[-1].type in ("done", "error")
    assert all(e.type not in ("start", "done", "error") for e in events[1:-1])


def assistant_message(events: list[Any]) -> Message:
    """The assistant message a client stores from one response's events."""
    content: list[Any] = []
    calls: dict[int, dict[str, str]] = {}
    for event in events:
        if isinstance(event, TextDelta):
            content.append(TextBlock(event.text))
        elif isinstance(event, ToolCallStart):
            calls[event.index] = {"id": event.id, "name": event.name, "arguments": ""}
        elif isinstance(event, ToolCallDelta):
            calls[event.index]["arguments"] += event.arguments
        elif isinstance(event, ToolCallDone):
            call = calls[event.index]
            content.append(ToolCallBlock(call["id"], call["name"], call["arguments"]))
    done = events[-1]
    assert isinstance(done, Done)
    return Message("assistant", content, provider="google", provider_data=done.provider_data)


def tool_results(message: Message, outputs: list[str]) -> Message:
    return Message(
        "tool",
        [
            ToolResultBlock(call.id, call.name, output)
            for call, output in zip(message.tool_calls(), outputs, strict=True)
        ],
    )


def provider(base_url: str = "http://127.0.0.1:9", **options: Any) -> GoogleProvider:
    return GoogleProvider(
        ProviderOptions(base_url=base_url, api_key="test-key", retry_base_delay=0.01, **options)
    )


# -- request serialization ------------------------------------------------------------------


def test_url_and_auth_header() -> None:
    p = provider("https://generativelanguage.googleapis.com/")
    request = Request(model="gemini-2.5-pro", messages=[Message.user("hi")])
    assert p.url(request) == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro"
        ":streamGenerateContent?alt=sse"
    )
    assert p.auth_headers() == {"x-goog-api-key": "test-key"}
    assert "authorization" not in p.headers()
    # A base URL that already names the API version is used as is.
    assert (
        provider("http://proxy/v1beta")
        .url(request)
        .startswith("http://proxy/v1beta/models/gemini-2.5-pro:")
    )
    assert GoogleProvider.id == "google"
    assert GoogleProvider.default_base_url == "https://generativelanguage.googleapis.com"


def test_body_system_tools_and_max_tokens() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    request = Request(
        model="gemini-2.0-flash",
        messages=[Message.user("What is the weather?")],
        system="Be brief.",
        tools=[ToolSpec("weather", "Get the weather.", schema), ToolSpec("noop", "", {})],
        max_output_tokens=500,
    )
    body = provider().body(request)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "What is the weather?"}]}]
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "Get the weather.",
                    "parametersJsonSchema": schema,
                },
                {
                    "name": "noop",
                    "description": "",
                    "parametersJsonSchema": {"type": "object", "properties": {}},
                },
            ]
        }
    ]
    assert body["generationConfig"] == {"maxOutputTokens": 500}


def test_body_without_options_has_no_generation_config() -> None:
    body = provider().body(Request(model="gemini-2.5-flash", messages=[Message.user("x")]))
    assert set(body) == {"contents"}


@pytest.mark.parametrize(
    ("model", "level", "expected"),
    [
        ("gemini-2.5-pro", "min", {"thinkingBudget": 512}),
        ("gemini-2.5-pro", "med", {"thinkingBudget": 8192}),
        ("gemini-2.5-pro", "high", {"thinkingBudget": 32768}),
        ("gemini-2.5-flash", "high", {"thinkingBudget": 24576}),
        ("gemini-2.5-flash", "low", {"thinkingBudget": 2048}),
        ("gemini-2.5-flash-lite", "min", {"thinkingBudget": 512}),
        ("gemini-3-flash-preview", "min", {"thinkingLevel": "MINIMAL"}),
        ("gemini-3-flash-preview", "med", {"thinkingLevel": "MEDIUM"}),
        ("gemini-3-pro-preview", "min", {"thinkingLevel": "LOW"}),
        ("gemini-3-pro-preview", "med", {"thinkingLevel": "HIGH"}),
        ("gemini-3.1-pro-preview", "min", {"thinkingLevel": "LOW"}),
        ("gemini-3.1-pro-preview", "med", {"thinkingLevel": "MEDIUM"}),
        ("gemini-3.6-flash", "high", {"thinkingLevel": "HIGH"}),
        # A live 400 refuses MINIMAL on 3.7 Flash: the least it takes is LOW.
        ("gemini-3.7-flash", "min", {"thinkingLevel": "LOW"}),
        ("gemini-3.7-flash", "med", {"thinkingLevel": "MEDIUM"}),
    ],
)
def test_thinking_config_per_model(model: str, level: Any, expected: dict[str, Any]) -> None:
    body = provider().body(Request(model=model, messages=[Message.user("x")], thinking=level))
    config = body["generationConfig"]["thinkingConfig"]
    assert config == {**expected, "includeThoughts": True}
    # Never both: the API rejects a budget together with a level.
    assert not ("thinkingBudget" in config and "thinkingLevel" in config)


def test_no_thinking_config_when_not_requested_or_not_supported() -> None:
    cases: list[tuple[str, ThinkingLevel | None]] = [
        ("gemini-2.5-pro", None),
        ("gemini-2.0-flash", "high"),
    ]
    for model, level in cases:
        body = provider().body(Request(model=model, messages=[Message.user("x")], thinking=level))
        assert "generationConfig" not in body
    assert thinking_config(model_spec("gemini-2.0-flash"), "high") is None


def test_unknown_model_gets_defaults_and_a_warning() -> None:
    p = provider()
    assert p.model_warning("gemini-2.5-pro") is None
    warning = p.model_warning("mystery-model-9")
    assert warning is not None and "mystery-model-9" in warning
    body = p.body(Request(model="mystery-model-9", messages=[Message.user("x")], thinking="low"))
    assert body["generationConfig"]["thinkingConfig"] == {
        "thinkingLevel": "LOW",
        "includeThoughts": True,
    }


def test_foreign_history_is_rebuilt_from_blocks() -> None:
    """History from another provider: thinking dropped, calls get the documented skip
    signature on Gemini 3 (which rejects an unsigned call), results become functionResponse."""
    messages = [
        Message.user("weather in Paris and Rome?"),
        Message(
            "assistant",
            [
                ThinkingBlock("let me think", signature="anthropic-sig"),
                TextBlock("Checking."),
                ToolCallBlock("toolu_1", "weather", '{"city": "Paris"}'),
                ToolCallBlock("toolu_2", "weather", '{"city": "Rome"}'),
            ],
            provider="anthropic",
            provider_data={"content": [{"type": "thinking"}]},
        ),
        Message(
            "tool",
            [
                ToolResultBlock("toolu_1", "weather", "sunny"),
                ToolResultBlock("toolu_2", "weather", "no such city", is_error=True),
            ],
        ),
        Message.user("thanks"),
    ]
    contents = provider().body(Request(model="gemini-3-pro-preview", messages=messages))["contents"]
    assert contents == [
        {"role": "user", "parts": [{"text": "weather in Paris and Rome?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking."},
                {
                    "functionCall": {"name": "weather", "args": {"city": "Paris"}, "id": "toolu_1"},
                    "thoughtSignature": SKIP_SIGNATURE,
                },
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}, "id": "toolu_2"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "weather",
                        "response": {"output": "sunny"},
                        "id": "toolu_1",
                    }
                },
                {
                    "functionResponse": {
                        "name": "weather",
                        "response": {"error": "no such city"},
                        "id": "toolu_2",
                    }
                },
                {"text": "thanks"},
            ],
        },
    ]
    # Models that take a budget do not validate signatures: no stand-in is sent.
    contents = provider().body(Request(model="gemini-2.5-flash", messages=messages))["contents"]
    assert all("thoughtSignature" not in part for part in contents[1]["parts"])


def test_edited_google_message_is_rebuilt_instead_of_replayed() -> None:
    stale = {"parts": [{"functionCall": {"name": "a", "args": {}, "id": "x_0"}}]}
    message = Message(
        "assistant",
        [ToolCallBlock("other", "b", "{}")],
        provider="google",
        provider_data=stale,
    )
    contents = provider().body(Request(model="gemini-2.0-flash", messages=[message]))["contents"]
    assert contents == [
        {"role": "model", "parts": [{"functionCall": {"name": "b", "args": {}, "id": "other"}}]}
    ]


# -- stream normalization (in process) ------------------------------------------------------


def test_normalizes_text_recording() -> None:
    events = normalize(fixture("01_text.sse"))
    assert events[0] == Start("gemini-2.0-flash-exp")
    assert text_of(events) == "The capital of France is Paris.\n"
    # The last usageMetadata wins although its prompt count is smaller than earlier ones.
    assert events[-1] == Done(
        "stop",
        Usage(input_tokens=13, output_tokens=8, total_tokens=21),
        {
            "parts": [{"text": "The capital of France is Paris.\n"}],
            "response_id": "w1peaMz6INOvnvgPgYfPiQY",
            "finish_reason": "STOP",
        },
    )


def test_thought_parts_signature_and_indices() -> None:
    events = normalize(fixture("02_thought_parts_then_text.sse"))
    chunks = recorded_chunks("02_thought_parts_then_text.sse")
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    thoughts = [p["text"] for p in parts if p.get("thought")]
    texts = [p["text"] for p in parts if not p.get("thought")]
    assert len(thoughts) == 4
    assert thinking_of(events) == "".join(thoughts)
    assert thinking_of(events).startswith("**Clarifying User Goals**")
    assert text_of(events) == "".join(texts)
    assert text_of(events).endswith("Always assume a driver might not see you.")
    # Thinking is block 0; the signed first text part is block 1; later text block 2.
    assert {e.index for e in events if isinstance(e, ThinkingDelta)} == {0}
    text_indices = [e.index for e in events if isinstance(e, TextDelta)]
    assert text_indices[0] == 1 and set(text_indices[1:]) == {2}
    done = events[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == "stop"
    assert done.usage == Usage(
        input_tokens=34, output_tokens=469 + 787, thinking_tokens=787, total_tokens=1290
    )
    signed = next(p for p in parts if "thoughtSignature" in p)
    replay = done.provider_data["parts"]
    # Unsigned thought summaries are not kept; the signature stays on its own part.
    assert replay[0] == signed
    assert replay[1] == {"text": "".join(texts[1:])}
    assert len(replay) == 2


def test_function_call_recording() -> None:
    events = normalize(fixture("04a_function_call_2.0_flash.sse"))
    assert events == [
        Start("gemini-2.0-flash"),
        ToolCallStart(0, "call_1lpeaMTxIpW1nvgP-O3vwQY_0", "get_capital"),
        ToolCallDelta(0, '{"country": "France"}'),
        ToolCallDone(0),
        Done(
            "tool_use",
            Usage(input_tokens=52, output_tokens=5, total_tokens=57),
            {
                "parts": [
                    {
                        "functionCall": {
                            "name": "get_capital",
                            "args": {"country": "France"},
                            "id": "call_1lpeaMTxIpW1nvgP-O3vwQY_0",
                        }
                    }
                ],
                "response_id": "1lpeaMTxIpW1nvgP-O3vwQY",
                "finish_reason": "STOP",
            },
        ),
    ]


def chunk(parts: list[dict[str, Any]], finish: str | None = None, **extra: Any) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    payload = {"candidates": [candidate], "modelVersion": "gemini-x", "responseId": "R1", **extra}
    return b"data: " + json.dumps(payload).encode() + b"\r\n\r\n"


def test_parallel_calls_get_ordinal_indices_and_signature_kept() -> None:
    data = chunk(
        [
            {"functionCall": {"name": "a", "args": {"x": 1}}, "thoughtSignature": "SIG"},
            {"functionCall": {"name": "b"}},
        ]
    ) + chunk([{"text": ""}], "STOP")
    events = normalize(data)
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert starts == [ToolCallStart(0, "call_R1_0", "a"), ToolCallStart(1, "call_R1_1", "b")]
    assert [e for e in events if isinstance(e, ToolCallDelta)] == [
        ToolCallDelta(0, '{"x": 1}'),
        ToolCallDelta(1, "{}"),
    ]
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "tool_use"
    assert done.provider_data["parts"] == [
        {
            "functionCall": {"name": "a", "args": {"x": 1}, "id": "call_R1_0"},
            "thoughtSignature": "SIG",
        },
        {"functionCall": {"name": "b", "args": {}, "id": "call_R1_1"}},
    ]


def test_signature_on_empty_final_part_is_kept() -> None:
    data = chunk([{"text": "Hi", "thought": True}]) + chunk([{"text": "Scoop"}])
    data += chunk([{"text": "", "thoughtSignature": "S2"}], "STOP")
    events = normalize(data)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.provider_data["parts"] == [
        {"text": "Scoop"},
        {"text": "", "thoughtSignature": "S2"},
    ]
    assert text_of(events) == "Scoop" and thinking_of(events) == "Hi"


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("IMAGE_OTHER_FUTURE", "content_filter"),
        ("OTHER", "unknown"),
    ],
)
def test_finish_reasons(reason: str, finish: str) -> None:
    events = normalize(chunk([{"text": "partial"}], reason))
    assert text_of(events) == "partial"
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == finish


@pytest.mark.parametrize(
    "reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"]
)
def test_tool_finish_reasons_are_errors(reason: str) -> None:
    data = chunk([{"text": "x"}])
    data += (
        b"data: "
        + json.dumps(
            {
                "candidates": [
                    {"finishReason": reason, "finishMessage": "bad call: foo(", "index": 0}
                ]
            }
        ).encode()
        + b"\r\n\r\n"
    )
    events = normalize(data)
    error = events[-1]
    assert isinstance(error, Error)
    assert error.category == "invalid_arg"
    assert reason in error.message and "bad call: foo(" in error.message
    assert text_of(events) == "x"


def test_blocked_prompt_is_content_filter() -> None:
    payload = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
    }
    events = normalize(b"data: " + json.dumps(payload).encode() + b"\r\n\r\n")
    assert events[0] == Start("gemini-2.5-flash")
    done = events[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == "content_filter"
    assert done.usage == Usage(input_tokens=7, total_tokens=7)
    assert done.provider_data["block_reason"] == "SAFETY"


def test_usage_cached_and_tool_prompt_tokens() -> None:
    usage = {
        "promptTokenCount": 100,
        "toolUsePromptTokenCount": 5,
        "cachedContentTokenCount": 60,
        "candidatesTokenCount": 10,
        "thoughtsTokenCount": 20,
    }
    events = normalize(chunk([{"text": "ok"}], "STOP", usageMetadata=usage))
    done = events[-1]
    assert isinstance(done, Done)
    assert done.usage == Usage(
        input_tokens=105, output_tokens=30, thinking_tokens=20, cached_tokens=60, total_tokens=135
    )


def test_error_chunk_mid_stream() -> None:
    error_chunk = (
        b'data: {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}\r\n\r\n'
    )
    events = normalize(chunk([{"text": "Partial"}]) + error_chunk)
    assert text_of(events) == "Partial"
    assert events[-1] == Error("server", "overloaded", 503, None)


def test_json_array_body_is_a_clear_error() -> None:
    """Without alt=sse Gemini streams a JSON array; we always ask for SSE, so such a
    body means a misbehaving server or proxy and is reported as such, not parsed."""
    events = normalize(fixture("06_NON_SSE_json_array_stream_with_thought.json"))
    assert len(events) == 1
    error = events[0]
    assert isinstance(error, Error)
    assert error.category == "server"
    assert "alt=sse" in error.message


# -- round trips against the recorded requests ---------------------------------------------


def canonical_ids(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``contents`` with call ids replaced by their order of first appearance.

    Ids are the client's own choice (pydantic-ai's ``pyd_ai_…``, ours derived
    from the response id); what must hold is that each functionResponse names
    the id of its functionCall.
    """
    seen: dict[str, str] = {}
    out: list[dict[str, Any]] = json.loads(json.dumps(contents))
    for content in out:
        for part in content["parts"]:
            for key in ("functionCall", "functionResponse"):
                if key in part and "id" in part[key]:
                    part[key]["id"] = seen.setdefault(part[key]["id"], f"id{len(seen)}")
    return out


def without_response_values(contents: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
    """Split off each functionResponse's single value (recorded under ``return_value``,
    sent by us under ``output``, the key Google documents for a function's output)."""
    out = json.loads(json.dumps(contents))
    values = []
    for content in out:
        for part in content["parts"]:
            if "functionResponse" in part:
                response = part["functionResponse"].pop("response")
                assert len(response) == 1
                values.append(next(iter(response.items())))
    return out, values


def assert_same_contents(ours: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> None:
    ours_rest, ours_values = without_response_values(canonical_ids(ours))
    rec_rest, rec_values = without_response_values(canonical_ids(recorded))
    assert ours_rest == rec_rest
    assert [value for _, value in ours_values] == [value for _, value in rec_values]
    assert {key for key, _ in rec_values} == {"return_value"}
    assert {key for key, _ in ours_values} == {"output"}


def model_turn_stream(model_content: dict[str, Any], response_id: str) -> bytes:
    """A stream as Gemini sends a model turn: the parts (ids stripped: the API sends
    none), then a final chunk with an empty text part and STOP."""
    parts = json.loads(json.dumps(model_content["parts"]))
    for part in parts:
        part.get("functionCall", {}).pop("id", None)
    return chunk(parts, responseId=response_id) + chunk([{"text": ""}], "STOP")


def test_round_trip_matches_03b_with_signature() -> None:
    recorded = recorded_request("03b_after_function_response.request.json")
    question = recorded["contents"][0]["parts"][0]["text"]
    events = normalize(model_turn_stream(recorded["contents"][1], "QUVVadTSNJ6_qtsPvN7J8Q0"))
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "tool_use"
    answer = assistant_message(events)
    messages = [Message.user(question), answer, tool_results(answer, ["Mexico"])]
    tools = [ToolSpec("get_country", "", {"type": "object", "properties": {}})]
    body = provider().body(Request(model="gemini-3-pro-preview", messages=messages, tools=tools))
    assert_same_contents(body["contents"], recorded["contents"])
    signature = recorded["contents"][1]["parts"][0]["thoughtSignature"]
    assert body["contents"][1]["parts"][0]["thoughtSignature"] == signature


def test_round_trip_matches_04c_after_two_tool_rounds() -> None:
    recorded = recorded_request("04c_text_after_two_function_responses.request.json")
    rec = recorded["contents"]
    first = assistant_message(normalize(fixture("04a_function_call_2.0_flash.sse")))
    second = assistant_message(normalize(model_turn_stream(rec[3], "second-response")))
    messages = [
        Message.user(rec[0]["parts"][0]["text"]),
        first,
        tool_results(first, ["Paris"]),
        second,
        tool_results(second, ["30°C"]),
    ]
    request = Request(
        model="gemini-2.0-flash",
        messages=messages,
        system=recorded["systemInstruction"]["parts"][0]["text"],
    )
    body = provider().body(request)
    assert_same_contents(body["contents"], rec)
    assert body["systemInstruction"]["parts"] == recorded["systemInstruction"]["parts"]
    ids = [
        p["functionCall"]["id"] for c in body["contents"] for p in c["parts"] if "functionCall" in p
    ]
    assert len(set(ids)) == 2


def test_adjust_after_unsupported_level_error() -> None:
    body = recorded_request("http_errors/400_invalid_argument_live.json")["reasoningNoneResponse"]
    p = provider()
    request = Request(model="gemini-3.1-flash-x", messages=[Message.user("x")], thinking="min")
    assert p.body(request)["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "MINIMAL"
    error = p.error_from_response(400, {}, json.dumps(body).encode())
    assert error.category == "invalid_arg"
    assert p.adjust_after_error(request, error) is True
    assert p.body(request)["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "LOW"
    # Only once: a second refusal is reported, not retried forever.
    assert p.adjust_after_error(request, error) is False
    both = recorded_request("http_errors/400_invalid_argument_live.json")[
        "thinkingLevelAndBudgetResponse"
    ]
    error = p.error_from_response(400, {}, json.dumps(both).encode())
    assert p.adjust_after_error(request, error) is False


def test_http_error_bodies_from_recordings() -> None:
    p = provider()
    error = p.error_from_response(
        429, {}, fixture("http_errors/429_resource_exhausted_retryinfo.json")
    )
    assert error.category == "rate_limit"
    assert error.retry_after_ms == 34_400
    assert error.http_status == 429
    assert "exceeded your current quota" in error.message
    live = recorded_request("http_errors/400_invalid_argument_live.json")
    for key in ("reasoningNoneResponse", "thinkingLevelAndBudgetResponse"):
        error = p.error_from_response(400, {}, json.dumps(live[key]).encode())
        assert error.category == "invalid_arg"
        assert live[key]["error"]["message"] in error.message
        assert error.retry_after_ms is None


def test_invalid_api_key_400_is_auth() -> None:
    body = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    error = provider().error_from_response(400, {}, json.dumps(body).encode())
    assert error.category == "auth" and error.http_status == 400


# -- over a real socket (the fake server) ---------------------------------------------------


def socket_provider(fake_server: Any, **options: Any) -> GoogleProvider:
    return provider(fake_server.base_url("google"), **options)


async def collect(p: GoogleProvider, request: Request) -> list[Any]:
    return [event async for event in p.stream(request)]


def golden(name: str) -> dict[str, Any]:
    """What each recording contains, written out by hand (02's long texts are joined
    from an independent parse of the file)."""
    if name == "02_thought_parts_then_text.sse":
        parts = [p for c in recorded_chunks(name) for p in c["candidates"][0]["content"]["parts"]]
        return {
            "model": "gemini-2.5-pro",
            "text": "".join(p["text"] for p in parts if not p.get("thought")),
            "thinking": "".join(p["text"] for p in parts if p.get("thought")),
            "calls": [],
            "finish": "stop",
            "usage": Usage(34, 469 + 787, 787, 0, 1290),
        }
    return {
        "01_text.sse": {
            "model": "gemini-2.0-flash-exp",
            "text": "The capital of France is Paris.\n",
            "thinking": "",
            "calls": [],
            "finish": "stop",
            "usage": Usage(13, 8, 0, 0, 21),
        },
        "03b_after_function_response.sse": {
            "model": "gemini-3-pro-preview",
            "text": "The capital of Mexico is Mexico City.",
            "thinking": "",
            "calls": [],
            "finish": "stop",
            "usage": Usage(257, 8, 0, 0, 265),
        },
        "04a_function_call_2.0_flash.sse": {
            "model": "gemini-2.0-flash",
            "text": "",
            "thinking": "",
            "calls": [("get_capital", {"country": "France"})],
            "finish": "tool_use",
            "usage": Usage(52, 5, 0, 0, 57),
        },
        "04c_text_after_two_function_responses.sse": {
            "model": "gemini-2.0-flash",
            "text": "The temperature in Paris is 30°C.\n",
            "thinking": "",
            "calls": [],
            "finish": "stop",
            "usage": Usage(79, 12, 0, 0, 91),
        },
        # Gemini 3 Flash: the answer, then a last chunk whose only part is an
        # empty text carrying the thought signature (no thought text: 52 thinking
        # tokens were billed but not shown).
        "07_empty_text_part_with_signature.REFRAMED.sse": {
            "model": "gemini-3-flash-preview",
            "text": "4",
            "thinking": "",
            "calls": [],
            "finish": "stop",
            "usage": Usage(15, 1 + 52, 52, 0, 68),
        },
    }[name]


def test_every_recording_has_a_golden_entry() -> None:
    assert len(SSE_FILES) == 6
    for name in SSE_FILES:
        assert golden(name)["model"]


@pytest.mark.parametrize("name", SSE_FILES)
@pytest.mark.parametrize("chunk_sizes", [None, [1, 2, 3, 5, 7, 11, 13]])
async def test_golden_recordings_over_socket(
    fake_server: Any, name: str, chunk_sizes: list[int] | None
) -> None:
    raw = fixture(name)
    fake_server.enqueue(Raw(raw, chunk_sizes=chunk_sizes))
    expected = golden(name)
    events = await collect(
        socket_provider(fake_server), Request(model=expected["model"], messages=[Message.user("q")])
    )
    assert_contract_order(events)
    assert events[0] == Start(expected["model"])
    assert text_of(events) == expected["text"]
    assert thinking_of(events) == expected["thinking"]
    message = assistant_message(events)
    assert [(c.name, c.parsed_arguments()) for c in message.tool_calls()] == expected["calls"]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.finish_reason == expected["finish"]
    assert done.usage == expected["usage"]
    # The socket path gives exactly what the in-process pipeline gives.
    assert events == normalize(raw)


async def test_json_array_body_over_socket(fake_server: Any) -> None:
    raw = fixture("06_NON_SSE_json_array_stream_with_thought.json")
    fake_server.enqueue(Raw(raw, content_type="application/json; charset=UTF-8"))
    events = await collect(
        socket_provider(fake_server, max_retries=0),
        Request(model="gemini-3.6-flash", messages=[Message.user("q")]),
    )
    assert len(events) == 2 and isinstance(events[0], Start)
    error = events[1]
    assert isinstance(error, Error) and error.category == "server"
    assert "alt=sse" in error.message


async def test_request_line_headers_and_body_on_the_wire(fake_server: Any) -> None:
    fake_server.enqueue(Reply(steps=[Text("ok")]))
    request = Request(
        model="gemini-2.5-flash",
        messages=[Message.user("hello")],
        system="sys",
        thinking="low",
        max_output_tokens=64,
    )
    events = await collect(socket_provider(fake_server), request)
    assert text_of(events) == "ok"
    sent = fake_server.requests[0]
    assert sent.method == "POST"
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert sent.query == "alt=sse"
    assert sent.headers["x-goog-api-key"] == "test-key"
    assert sent.json == {
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "generationConfig": {
            "maxOutputTokens": 64,
            "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True},
        },
    }


async def test_two_turn_tool_conversation(fake_server: Any) -> None:
    fake_server.enqueue(
        Reply(
            steps=[
                Thinking("Need the country.", signature="U0lHLTE="),
                ToolCall("get_country", {"hint": "user"}),
            ],
            usage={"input_tokens": 20, "output_tokens": 5, "thinking_tokens": 9},
        ),
        Reply(steps=[Text("The capital is Mexico City.")]),
    )
    p = socket_provider(fake_server)
    tools = [ToolSpec("get_country", "The user's country.", {"type": "object"})]
    messages = [Message.user("What is the capital of my country?")]
    first = await collect(p, Request(model="gemini-3-pro-preview", messages=messages, tools=tools))
    assert thinking_of(first) == "Need the country."
    done = first[-1]
    assert isinstance(done, Done) and done.finish_reason == "tool_use"
    assert done.usage == Usage(20, 14, 9, 0, 34)
    answer = assistant_message(first)
    (call,) = answer.tool_calls()
    assert call.parsed_arguments() == {"hint": "user"}
    messages += [answer, tool_results(answer, ["Mexico"])]
    second = await collect(p, Request(model="gemini-3-pro-preview", messages=messages, tools=tools))
    assert text_of(second) == "The capital is Mexico City."
    assert second[-1].type == "done" and second[-1].finish_reason == "stop"
    sent = fake_server.requests[1].json
    assert sent["contents"] == [
        {"role": "user", "parts": [{"text": "What is the capital of my country?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {
                        "name": "get_country",
                        "args": {"hint": "user"},
                        "id": call.id,
                    },
                    "thoughtSignature": "U0lHLTE=",
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_country",
                        "response": {"output": "Mexico"},
                        "id": call.id,
                    }
                }
            ],
        },
    ]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "get_country"


FAULT_STEPS: list[Text | Thinking | ToolCall] = [Text("Hello world, how are you today?", chunk=4)]


async def test_error_event_keeps_text_status_and_message(fake_server: Any) -> None:
    fake_server.enqueue(Reply(steps=FAULT_STEPS, fault=Fault(kind="error_event", after_events=2)))
    events = await collect(
        socket_provider(fake_server, max_retries=0),
        Request(model="gemini-2.5-flash", messages=[Message.user("q")]),
    )
    assert_contract_order(events)
    assert text_of(events) == "Hello wo"
    error = events[-1]
    assert isinstance(error, Error)
    assert error.category == "server"
    assert error.http_status == 503
    assert "overloaded" in error.message


async def test_cut_after_all_text_but_before_the_finish_chunk(fake_server: Any) -> None:
    """Gemini has no terminator, so the finishReason chunk is what says the answer is
    whole: all the text without it is still a cut-off answer (a normal reply, which
    always ends at EOF after finishReason, is the complete case)."""
    fake_server.enqueue(Reply(steps=FAULT_STEPS, fault=Fault(kind="cut", after_events=100)))
    events = await collect(
        socket_provider(fake_server, max_retries=0),
        Request(model="gemini-2.5-flash", messages=[Message.user("q")]),
    )
    assert text_of(events) == "Hello world, how are you today?"
    error = events[-1]
    assert isinstance(error, Error) and error.category == "network"


async def test_429_retry_delay_from_the_body(fake_server: Any) -> None:
    fake_server.enqueue(http_error(429, retry_after="2.5"))
    events = await collect(
        socket_provider(fake_server, max_retries=0),
        Request(model="gemini-2.5-flash", messages=[Message.user("q")]),
    )
    assert events[-1] == Error(
        "rate_limit", "HTTP 429: Rate limit reached (fake server).", 429, 2500
    )
    recorded_body = fixture("http_errors/429_resource_exhausted_retryinfo.json")
    fake_server.enqueue(http_error(429, body=recorded_body))
    events = await collect(
        socket_provider(fake_server, max_retries=0),
        Request(model="gemini-2.5-flash", messages=[Message.user("q")]),
    )
    error = events[-1]
    assert isinstance(error, Error)
    assert error.category == "rate_limit" and error.retry_after_ms == 34_400


async def test_unsupported_thinking_level_is_resent_with_the_next_level(fake_server: Any) -> None:
    live = recorded_request("http_errors/400_invalid_argument_live.json")
    fake_server.enqueue(
        http_error(400, body=live["reasoningNoneResponse"]), Reply(steps=[Text("ok")])
    )
    events = await collect(
        socket_provider(fake_server, max_retries=0),
        Request(model="gemini-3.9-flash-new", messages=[Message.user("q")], thinking="min"),
    )
    assert text_of(events) == "ok"
    levels = [
        r.json["generationConfig"]["thinkingConfig"]["thinkingLevel"] for r in fake_server.requests
    ]
    assert levels == ["MINIMAL", "LOW"]


# -- issue 16: signed empty parts of a real Gemini 3 recording, sampling ----------------------


def test_recorded_empty_signed_part_is_kept_and_sent_back_in_place() -> None:
    name = "07_empty_text_part_with_signature.REFRAMED.sse"
    lines = (FIXTURES / "07_empty_text_part_with_signature.chunks.jsonl").read_text()
    chunks = [json.loads(line) for line in lines.splitlines() if line.strip()]
    signature = chunks[1]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    events = normalize(fixture(name))
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "stop"
    # The empty part is not shown (no delta for it) but kept, after the text it follows.
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta(0, "4")]
    assert done.provider_data["parts"] == [
        {"text": "4"},
        {"text": "", "thoughtSignature": signature},
    ]
    stored = json.loads(json.dumps(done.provider_data))  # as the database keeps it
    answer = Message("assistant", [TextBlock("4")], provider="google", provider_data=stored)
    body = provider().body(
        Request(
            model="gemini-3-flash-preview",
            messages=[Message.user("2+2?"), answer, Message.user("and 3+3?")],
        )
    )
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "2+2?"}]},
        {"role": "model", "parts": [{"text": "4"}, {"text": "", "thoughtSignature": signature}]},
        {"role": "user", "parts": [{"text": "and 3+3?"}]},
    ]


def test_signature_only_part_without_text_keeps_its_place_between_parts() -> None:
    data = chunk([{"text": "Let me look."}])
    data += chunk([{"thoughtSignature": "ONLY-SIG"}])
    data += chunk([{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "CALL-SIG"}])
    data += chunk([], "STOP")
    done = normalize(data)[-1]
    assert isinstance(done, Done) and done.finish_reason == "tool_use"
    parts = done.provider_data["parts"]
    assert parts[0] == {"text": "Let me look."}
    assert parts[1] == {"thoughtSignature": "ONLY-SIG"}
    assert parts[2]["thoughtSignature"] == "CALL-SIG" and parts[2]["functionCall"]["name"] == "f"


def test_sampling_parameters_go_to_generation_config() -> None:
    body = provider().body(
        Request(
            model="gemini-2.5-flash",
            messages=[Message.user("x")],
            temperature=0.3,
            top_p=0.9,
            top_k=40,
        )
    )
    assert body["generationConfig"] == {"temperature": 0.3, "topP": 0.9, "topK": 40}
