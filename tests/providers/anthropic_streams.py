"""Anthropic streams in the documented event shapes, for what no public recording shows.

No public test suite holds a recorded ``pause_turn`` stream, so these follow
the Messages streaming reference and the server-tool pages (web search):
``server_tool_use`` with its input streamed as ``input_json_delta``, a
``web_search_tool_result`` block arriving whole in ``content_block_start``
(results with ``encrypted_content``), text with ``citations_delta``, an MCP
connector ``mcp_tool_use`` / ``mcp_tool_result`` pair, and the stop reasons
``pause_turn`` and ``model_context_window_exceeded``.
"""

from __future__ import annotations

import json
from typing import Any

SEARCH_RESULTS: list[dict[str, Any]] = [
    {
        "type": "web_search_result",
        "url": "https://example.org/release",
        "title": "Release notes",
        "encrypted_content": "RW5jcnlwdGVkIHBhZ2UgMQ==",
        "page_age": None,
    },
    {
        "type": "web_search_result",
        "url": "https://example.org/blog",
        "title": "Blog",
        "encrypted_content": "RW5jcnlwdGVkIHBhZ2UgMg==",
        "page_age": "2 days ago",
    },
]
CITATION: dict[str, Any] = {
    "type": "web_search_result_location",
    "url": "https://example.org/release",
    "title": "Release notes",
    "encrypted_index": "RW5jcnlwdGVkIGluZGV4",
    "cited_text": "Version 2 is out.",
}


def sse(*payloads: dict[str, Any]) -> bytes:
    """``event: TYPE`` / ``data: JSON`` events, as the API frames them."""
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


def start(message_id: str, model: str = "claude-sonnet-4-5-20250929") -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 30, "output_tokens": 1},
        },
    }


def text_block(index: int, *pieces: str, citations: bool = False) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
    ]
    if citations:
        events.append(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "citations_delta", "citation": CITATION},
            }
        )
    events += [
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": t}}
        for t in pieces
    ]
    events.append({"type": "content_block_stop", "index": index})
    return events


def search(index: int, query: str, tool_id: str = "srvtoolu_01") -> list[dict[str, Any]]:
    """A ``server_tool_use`` web search (input streamed in two pieces) and its result."""
    encoded = json.dumps({"query": query})
    half = len(encoded) // 2
    return [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {
                "type": "server_tool_use",
                "id": tool_id,
                "name": "web_search",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": encoded[:half]},
        },
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": encoded[half:]},
        },
        {"type": "content_block_stop", "index": index},
        {
            "type": "content_block_start",
            "index": index + 1,
            "content_block": {
                "type": "web_search_tool_result",
                "tool_use_id": tool_id,
                "content": SEARCH_RESULTS,
            },
        },
        {"type": "content_block_stop", "index": index + 1},
    ]


def end(reason: str, output_tokens: int = 12) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def paused_search(query: str = "ikigai release", message_id: str = "msg_paused") -> bytes:
    """Some text, a web search and its results, then ``pause_turn``."""
    return sse(
        start(message_id), *text_block(0, "Let me search. "), *search(1, query), *end("pause_turn")
    )


def answer_after_search(message_id: str = "msg_done") -> bytes:
    """The continuation of a paused turn: a cited answer, then ``end_turn``."""
    return sse(
        start(message_id),
        *text_block(0, "Version 2 ", "is out.", citations=True),
        *end("end_turn"),
    )


def mcp_call() -> bytes:
    """An MCP connector call and result, then an answer."""
    return sse(
        start("msg_mcp"),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "mcp_tool_use",
                "id": "mcptoolu_01",
                "name": "search_docs",
                "server_name": "docs",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"query": "install"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "mcp_tool_result",
                "tool_use_id": "mcptoolu_01",
                "is_error": False,
                "content": [{"type": "text", "text": "pip install ikigai"}],
            },
        },
        {"type": "content_block_stop", "index": 1},
        *text_block(2, "Run pip install."),
        *end("end_turn"),
    )
