"""Rebuilding the model context of a stored conversation, with its marks.

Stored rows are the record of everything shown; the model context is what
the next request sends. A conversation is a tree; ``rebuild`` is given one
path of it (root to leaf, as ``Database.path_messages`` returns it, tool-call
attachments included and ignored) and walks it once, in order:

* ``clear`` starts the context (and the marks) afresh;
* ``mark`` remembers the context's length under its label; ``rewind`` cuts the
  context back to the mark named in its data and forgets later marks;
* partial answers (status ``streaming``, ``interrupted`` or ``error``) are
  shown but not sent back to the model;
* tool calls that never got a result (a crash or a cancel while a tool ran)
  are answered with an error result so the context stays valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ikigai.providers.request import (
    ContentBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from ikigai.storage.models import StoredMessage


@dataclass(frozen=True, slots=True)
class Mark:
    """A labelled point of the context: the mark row's id and the context length there."""

    label: str
    row_id: int
    length: int


@dataclass(slots=True)
class Rebuilt:
    """A stored conversation's model context, marks and token totals."""

    context: list[Message] = field(default_factory=list)
    marks: dict[str, Mark] = field(default_factory=dict)
    total_tokens: int = 0
    last_input_tokens: int = 0
    last_output_tokens: int = 0
    last_row_id: int | None = None
    last_prompt_id: int | None = None


def rebuild(rows: Sequence[StoredMessage]) -> Rebuilt:
    """The model context, marks and token counts a stored conversation ends with."""
    out = Rebuilt()
    context = out.context
    marks = out.marks
    for row in rows:
        kind = row.kind
        if kind == "tool_call":
            continue
        out.last_row_id = row.id
        if kind == "user":
            out.last_prompt_id = row.id
            context.append(Message.user(row.content))
        elif kind == "assistant":
            _count_tokens(out, row.data)
            if row.status != "complete":
                continue
            context.append(_assistant(row))
        elif kind == "tool_result":
            block = ToolResultBlock(
                str(row.data.get("id", "")),
                str(row.data.get("name", "")),
                str(row.data.get("output", row.content)),
                is_error=not row.data.get("success", True),
            )
            if context and context[-1].role == "tool":
                context[-1].content.append(block)
            else:
                context.append(Message(role="tool", content=[block]))
        elif kind == "clear":
            context.clear()
            marks.clear()
            out.last_prompt_id = None
        elif kind == "mark":
            label = str(row.data.get("label") or row.content)
            marks[label] = Mark(label, row.id, len(context))
        elif kind == "rewind":
            target = row.data.get("mark_id")
            mark = next((m for m in marks.values() if m.row_id == target), None)
            if mark is not None:
                del context[mark.length :]
                for label in [m.label for m in marks.values() if m.row_id > mark.row_id]:
                    del marks[label]
    out.context = answer_every_tool_call(context)
    return out


def history_from_messages(rows: Sequence[StoredMessage]) -> list[Message]:
    """The model context a stored conversation ends with (see ``rebuild``)."""
    return rebuild(rows).context


def _count_tokens(out: Rebuilt, data: dict[str, Any]) -> None:
    input_tokens = _int(data.get("input_tokens"))
    output_tokens = _int(data.get("output_tokens"))
    if input_tokens or output_tokens:
        out.last_input_tokens = input_tokens
        out.last_output_tokens = output_tokens
        out.total_tokens += input_tokens + output_tokens


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _assistant(row: StoredMessage) -> Message:
    content: list[ContentBlock] = []
    thinking = row.data.get("thinking")
    if isinstance(thinking, str) and thinking:
        content.append(ThinkingBlock(thinking))
    if row.content:
        content.append(TextBlock(row.content))
    for call in row.data.get("tool_calls") or []:
        if isinstance(call, dict) and call.get("id") and not call.get("incomplete"):
            content.append(
                ToolCallBlock(str(call["id"]), str(call.get("name", "")), _arguments(call))
            )
    provider_data = row.data.get("provider_data")
    return Message(
        role="assistant",
        content=content,
        provider=row.data.get("provider"),
        provider_data=provider_data if isinstance(provider_data, dict) else {},
    )


def _arguments(call: dict[str, Any]) -> str:
    arguments = call.get("arguments", "")
    return arguments if isinstance(arguments, str) else ""


def answer_every_tool_call(context: list[Message]) -> list[Message]:
    """``context`` with an error result for every tool call that never got one."""
    out: list[Message] = []
    for position, message in enumerate(context):
        out.append(message)
        calls = message.tool_calls() if message.role == "assistant" else []
        if not calls:
            continue
        following = context[position + 1] if position + 1 < len(context) else None
        answered = (
            {r.tool_call_id for r in following.tool_results()}
            if following is not None and following.role == "tool"
            else set()
        )
        missing = [
            ToolResultBlock(c.id, c.name, "The tool call was interrupted.", is_error=True)
            for c in calls
            if c.id not in answered
        ]
        if not missing:
            continue
        if following is not None and following.role == "tool":
            following.content.extend(missing)
        else:
            out.append(Message(role="tool", content=list(missing)))
    return out
