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
  are answered with an error result so the context stays valid;
* a ``summary`` (a compaction) replaces what came before the turns it kept
  with the summary (``engine.compaction``);
* a prompt's stored attachments come back as the blocks first sent
  (``engine.attachments``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
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
    cost_usd: float | None = None
    """The known costs of the answers and summaries, summed (``None``: none known)."""
    cost_partial: bool = False
    """Some answer had no known price: ``cost_usd`` is a lower bound."""
    measured: tuple[Message | None, int] | None = None
    """The last answer's request, measured by the provider: the message that ended it
    and its input plus output tokens (``None`` once the context changed otherwise)."""


STEP = 1_000
"""Rows (or messages) ``rebuild_stepwise`` handles between two turns of the event loop: a
few milliseconds of work."""


def rebuild(rows: Sequence[StoredMessage]) -> Rebuilt:
    """The model context, marks and token counts a stored conversation ends with."""
    walk = _Walk()
    for row in rows:
        walk.add(row)
    for _ in walk.finish():
        pass
    return walk.out


async def rebuild_stepwise(rows: Sequence[StoredMessage], step: int = STEP) -> Rebuilt:
    """``rebuild`` on the event loop, ``step`` rows at a time with a turn of the loop
    between, so that a screen stays responsive while a long conversation is rebuilt.

    On the loop rather than in a worker thread: a thread holding the interpreter lock
    makes the loop wait for it at every switch (up to 5 ms each, many per key press).
    """
    walk = _Walk()
    for position, row in enumerate(rows):
        if position and position % step == 0:
            await asyncio.sleep(0)
        walk.add(row)
    for done, _ in enumerate(walk.finish(), 1):
        if done % step == 0:
            await asyncio.sleep(0)
    return walk.out


class _Walk:
    """``rebuild``'s walk along the path, one row at a time."""

    __slots__ = ("out", "prompt_position")

    def __init__(self) -> None:
        self.out = Rebuilt()
        # Where the last prompt sits in the context, so a compaction can tell if it stays.
        self.prompt_position: dict[int, int] = {}

    def add(self, row: StoredMessage) -> None:
        """Take the next row of the path into account."""
        out = self.out
        context = out.context
        marks = out.marks
        prompt_position = self.prompt_position
        kind = row.kind
        if kind == "tool_call":
            return
        out.last_row_id = row.id
        if kind == "user":
            out.last_prompt_id = row.id
            self.prompt_position = {row.id: len(context)}
            context.append(_user(row))
        elif kind == "assistant":
            _count_tokens(out, row.data)
            _count_cost(out, row.data)
            if row.status != "complete":
                return
            tokens = _int(row.data.get("input_tokens")) + _int(row.data.get("output_tokens"))
            if _int(row.data.get("input_tokens")):
                out.measured = (context[-1] if context else None, tokens)
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
            out.measured = None
            context.clear()
            marks.clear()
            self.prompt_position = {}
            out.last_prompt_id = None
        elif kind == "mark":
            label = str(row.data.get("label") or row.content)
            marks.pop(label, None)  # set again: it is now the latest
            marks[label] = Mark(label, row.id, len(context))
        elif kind == "rewind":
            target = row.data.get("mark_id")
            mark = next((m for m in marks.values() if m.row_id == target), None)
            if mark is not None:
                out.measured = None
                del context[mark.length :]
                for label in [m.label for m in marks.values() if m.row_id > mark.row_id]:
                    del marks[label]
        elif kind == "summary":
            out.measured = None
            _count_cost(out, row.data)
            self.prompt_position = _compact(out, row, prompt_position)

    def finish(self) -> Iterator[None]:
        """Answer every tool call left without a result; yields once per message."""
        answered: list[Message] = []
        yield from _answer_every_tool_call(self.out.context, answered)
        self.out.context = answered


def _user(row: StoredMessage) -> Message:
    """A stored prompt with the attachments it was sent with."""
    attachments = row.data.get("attachments")
    if not attachments:
        return Message.user(row.content)
    from ikigai.engine.attachments import blocks_from_records

    return Message(role="user", content=[TextBlock(row.content), *blocks_from_records(attachments)])


def _compact(out: Rebuilt, row: StoredMessage, positions: dict[int, int]) -> dict[int, int]:
    """Apply a stored compaction: the summary, then the turns it kept."""
    from ikigai.engine.compaction import split_index, summary_message

    keep = _int(row.data.get("kept_turns"))
    start = split_index(out.context, keep)
    out.context[:] = [summary_message(row.content), *out.context[start:]]
    shift = start - 1
    for label, mark in list(out.marks.items()):
        if mark.length >= start:
            out.marks[label] = Mark(label, mark.row_id, mark.length - shift)
        else:
            del out.marks[label]
    kept = {prompt: position - shift for prompt, position in positions.items() if position >= start}
    if out.last_prompt_id not in kept:
        out.last_prompt_id = None
    return kept


def _count_cost(out: Rebuilt, data: dict[str, Any]) -> None:
    cost = data.get("cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        out.cost_usd = (out.cost_usd or 0.0) + float(cost)
    elif _int(data.get("output_tokens")):
        out.cost_partial = True


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
    for _ in _answer_every_tool_call(context, out):
        pass
    return out


def _answer_every_tool_call(context: list[Message], out: list[Message]) -> Iterator[None]:
    """Fill ``out`` as ``answer_every_tool_call`` returns it, yielding after each message."""
    for position, message in enumerate(context):
        out.append(message)
        yield
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
