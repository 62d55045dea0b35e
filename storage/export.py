"""Rendering a stored conversation as Markdown (to read) or JSON (to keep or process).

Either the current path (``branches="current"``: what the user sees, root to
leaf) or the whole tree (``"all"``). JSON keeps every message's ``parent_id``
either way; Markdown of a tree that branches gives each branch a heading
saying where it leaves the branches before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from ikigai.storage.models import ConversationSummary, StoredMessage

EXPORT_FORMAT = "ikigai.conversation"
EXPORT_VERSION = 2
"""2: ``branches`` and ``leaf_id`` were added; ``messages`` may be one path of the tree."""

Branches = Literal["current", "all"]

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


def to_json(
    conversation: ConversationSummary,
    messages: Sequence[StoredMessage],
    *,
    branches: Branches = "all",
    leaf_id: int | None = None,
) -> dict[str, Any]:
    """Everything stored about the conversation (or its current path) as JSON-ready data.

    Message ``data`` is included unchanged, so thinking, tool calls, usage and
    provider data survive a round trip; ``parent_id`` rebuilds the tree.
    """
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "branches": branches,
        "leaf_id": leaf_id,
        "conversation": {
            "id": conversation.id,
            "title": conversation.title,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "data": conversation.data,
            "forked_from": conversation.forked_from,
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


def to_markdown(
    conversation: ConversationSummary,
    messages: Sequence[StoredMessage],
    *,
    leaf_id: int | None = None,
) -> str:
    """A readable Markdown document: one section per message, thinking quoted,
    tool calls and results fenced, token usage under each answer.

    When ``messages`` branch (more than one leaf), each branch gets a heading:
    the branch ending at ``leaf_id`` first and whole, then every other branch
    from where it leaves the ones above.
    """
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    started = f"_Conversation {conversation.id}, started {conversation.created_at}"
    if conversation.forked_from is not None:
        started += f", forked from conversation {conversation.forked_from}"
    lines.extend([started + "_", ""])
    branches = _branches(messages, leaf_id)
    if len(branches) <= 1:
        for message in messages:
            lines.extend(_message_lines(message))
        return "\n".join(lines).rstrip() + "\n"
    for number, (after, rows) in enumerate(branches, 1):
        where = "current" if number == 1 and any(m.id == leaf_id for m in rows) else None
        if where is None:
            where = f"after message {after}" if after is not None else "a new first message"
        lines.extend([f"## Branch {number} of {len(branches)} ({where})", ""])
        for message in rows:
            lines.extend(_message_lines(message))
    return "\n".join(lines).rstrip() + "\n"


def _branches(
    messages: Sequence[StoredMessage], leaf_id: int | None
) -> list[tuple[int | None, list[StoredMessage]]]:
    """Each leaf's branch as (the message it leaves the earlier branches after, its rows).

    Rows keep their tool-call attachments; the first branch is the one ending at
    ``leaf_id`` (when it is a leaf), the others follow in the order they began.
    """
    by_id = {m.id: m for m in messages}
    attachments: dict[int, list[StoredMessage]] = {}
    has_children: set[int] = set()
    for message in messages:
        if message.parent_id is None or message.parent_id not in by_id:
            continue
        if message.kind == "tool_call":
            attachments.setdefault(message.parent_id, []).append(message)
        else:
            has_children.add(message.parent_id)
    leaves = [m.id for m in messages if m.kind != "tool_call" and m.id not in has_children]
    if leaf_id in leaves:
        leaves.remove(leaf_id)
        leaves.insert(0, leaf_id)
    shown: set[int] = set()
    out: list[tuple[int | None, list[StoredMessage]]] = []
    for leaf in leaves:
        path: list[StoredMessage] = []
        node: StoredMessage | None = by_id[leaf]
        while node is not None and node.id not in shown:
            path.append(node)
            parent = node.parent_id
            node = by_id.get(parent) if parent is not None and parent < node.id else None
        after = node.id if node is not None else None
        path.reverse()
        rows: list[StoredMessage] = []
        for message in path:
            shown.add(message.id)
            rows.append(message)
            rows.extend(attachments.get(message.id, ()))
        out.append((after, rows))
    out[1:] = sorted(out[1:], key=lambda branch: branch[1][0].id)
    return out


def _message_lines(message: StoredMessage) -> list[str]:
    data = message.data
    heading = _HEADINGS.get(message.kind, message.kind)
    if message.kind == "assistant" and data.get("model"):
        heading += f" ({data['model']})"
    if message.kind in ("tool_call", "tool_result") and data.get("name"):
        heading += f": {data['name']}"
    if message.status != "complete":
        heading += f" [{message.status}]"
    lines = [f"## {heading}", f"_message {message.id} · {message.created_at}_", ""]
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
