"""Rendering a stored conversation as Markdown (to read) or JSON (to keep or process)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ikigai.storage.models import ConversationSummary, StoredMessage

EXPORT_FORMAT = "ikigai.conversation"
EXPORT_VERSION = 1

_USAGE_KEYS = ("input_tokens", "output_tokens", "thinking_tokens", "cached_tokens", "total_tokens")
_HEADINGS = {
    "user": "User",
    "assistant": "Assistant",
    "tool_call": "Tool call",
    "tool_result": "Tool result",
    "system": "System",
    "command": "Command",
    "mark": "Mark",
    "rewind": "Rewind",
    "clear": "Clear",
    "usage": "Usage",
    "interrupted": "Interrupted",
    "summary": "Summary (the context was compacted here)",
}


def to_json(conversation: ConversationSummary, messages: Sequence[StoredMessage]) -> dict[str, Any]:
    """Everything stored about the conversation as JSON-ready data.

    Message ``data`` is included unchanged, so thinking, tool calls, usage and
    provider data survive a round trip.
    """
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "conversation": {
            "id": conversation.id,
            "title": conversation.title,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "data": conversation.data,
        },
        "messages": [
            {
                "id": message.id,
                "parent_id": message.parent_id,
                "kind": message.kind,
                "status": message.status,
                "created_at": message.created_at,
                "content": message.content,
                "data": message.data,
            }
            for message in messages
        ],
    }


def to_markdown(conversation: ConversationSummary, messages: Sequence[StoredMessage]) -> str:
    """A readable Markdown document: one section per message, thinking quoted,
    tool calls and results fenced, token usage under each answer."""
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"_Conversation {conversation.id}, started {conversation.created_at}_")
    lines.append("")
    for message in messages:
        lines.extend(_message_lines(message))
    return "\n".join(lines).rstrip() + "\n"


def _message_lines(message: StoredMessage) -> list[str]:
    data = message.data
    heading = _HEADINGS.get(message.kind, message.kind)
    if message.kind == "assistant" and data.get("model"):
        heading += f" ({data['model']})"
    if message.kind in ("tool_call", "tool_result") and data.get("name"):
        heading += f": {data['name']}"
    if message.status != "complete":
        heading += f" [{message.status}]"
    lines = [f"## {heading}", f"_{message.created_at}_", ""]
    thinking = data.get("thinking")
    if isinstance(thinking, str) and thinking:
        lines.append("> **Thinking**")
        lines.extend(f"> {line}".rstrip() for line in thinking.splitlines())
        lines.append("")
    if message.kind == "tool_call":
        lines.extend(_fenced(str(data.get("arguments", message.content)), "json"))
    elif message.kind == "tool_result":
        if data.get("success") is False:
            lines.append("**failed**")
            lines.append("")
        lines.extend(_fenced(str(data.get("output", message.content)), ""))
    elif message.content:
        lines.extend([message.content, ""])
    attached = data.get("attachments") if message.kind == "user" else None
    if isinstance(attached, list) and attached:
        names = [
            f"`{a.get('shown') or a.get('path')}` "
            f"({a.get('size', '?')} bytes, {a.get('kind', '?')})"
            for a in attached
            if isinstance(a, dict)
        ]
        lines.extend([f"_Attached: {', '.join(names)}_", ""])
    for call in data.get("tool_calls", []) if message.kind == "assistant" else []:
        if isinstance(call, dict):
            lines.append(f"**Tool call** `{call.get('name', '?')}`")
            lines.extend(_fenced(str(call.get("arguments", "")), "json"))
    if message.status == "error" and data.get("error_message"):
        lines.extend(
            [f"**Error ({data.get('error_category', 'unknown')})**: {data['error_message']}", ""]
        )
    usage = [f"{key.removesuffix('_tokens')} {data[key]}" for key in _USAGE_KEYS if key in data]
    if isinstance(data.get("cost_usd"), int | float):
        usage.append(f"cost ${data['cost_usd']:.4f}")
    if usage:
        lines.extend([f"_Tokens: {', '.join(usage)}_", ""])
    return lines


def _fenced(text: str, language: str) -> list[str]:
    """A code fence longer than any backtick run inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text, fence, ""]


def dumps(document: dict[str, Any]) -> str:
    """Serialize an export document as indented UTF-8 JSON."""
    return json.dumps(document, ensure_ascii=False, indent=2)
