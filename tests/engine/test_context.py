"""Rebuilding the model context from the rows of one path, as a table of row sequences.

Which rows make the path (the tree, the current leaf) is storage's business:
tests/storage/test_tree.py and tests/engine/test_branches.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from ikigai.engine.context import rebuild
from ikigai.providers.request import Message, TextBlock, ToolCallBlock, ToolResultBlock
from ikigai.storage.models import StoredMessage


def row(
    row_id: int,
    kind: str,
    content: str = "",
    *,
    parent: int | None = None,
    status: str = "complete",
    **data: Any,
) -> StoredMessage:
    return StoredMessage(row_id, 1, parent, kind, content, data, status, "2026-01-01")  # type: ignore[arg-type]


def texts(context: list[Message]) -> list[str]:
    out = []
    for message in context:
        for block in message.content:
            if isinstance(block, TextBlock):
                out.append(f"{message.role}:{block.text}")
            elif isinstance(block, ToolCallBlock):
                out.append(f"call:{block.id}")
            elif isinstance(block, ToolResultBlock):
                out.append(f"result:{block.tool_call_id}:{block.output}")
    return out


CASES = {
    "a plain exchange": (
        [row(1, "user", "hi"), row(2, "assistant", "hello", parent=1)],
        ["user:hi", "assistant:hello"],
    ),
    "partial answers are shown, not sent": (
        [
            row(1, "user", "a"),
            row(2, "assistant", "half", parent=1, status="interrupted"),
            row(3, "user", "b", parent=2),
            row(4, "assistant", "ok", parent=3),
        ],
        ["user:a", "user:b", "assistant:ok"],
    ),
    "clear starts afresh": (
        [
            row(1, "user", "a"),
            row(2, "assistant", "x", parent=1),
            row(3, "clear", parent=2),
            row(4, "user", "b", parent=3),
        ],
        ["user:b"],
    ),
    "rewind goes back to its mark and forgets later marks": (
        [
            row(1, "user", "a"),
            row(2, "assistant", "x", parent=1),
            row(3, "mark", "m1", parent=2, label="m1"),
            row(4, "user", "b", parent=3),
            row(5, "assistant", "y", parent=4),
            row(6, "mark", "m2", parent=5, label="m2"),
            row(7, "rewind", "m1", parent=6, mark_id=3, label="m1"),
            row(8, "user", "c", parent=7),
        ],
        ["user:a", "assistant:x", "user:c"],
    ),
    "a tool call without a result gets an error result": (
        [
            row(1, "user", "q"),
            row(
                2,
                "assistant",
                "",
                parent=1,
                tool_calls=[{"id": "c1", "name": "bash", "arguments": "{}"}],
            ),
            row(3, "interrupted", parent=2),
        ],
        ["user:q", "call:c1", "result:c1:The tool call was interrupted."],
    ),
    "an incomplete call is never sent": (
        [
            row(1, "user", "q"),
            row(
                2,
                "assistant",
                "text",
                parent=1,
                tool_calls=[{"id": "", "name": "", "arguments": "{", "incomplete": True}],
            ),
        ],
        ["user:q", "assistant:text"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_context_of(name: str) -> None:
    rows, expected = CASES[name]
    assert texts(rebuild(rows).context) == expected


def test_marks_and_token_totals() -> None:
    rebuilt = rebuild(
        [
            row(1, "user", "a"),
            row(2, "assistant", "x", parent=1, input_tokens=10, output_tokens=5),
            row(3, "mark", "here", parent=2, label="here"),
            row(4, "user", "b", parent=3),
            row(5, "assistant", "y", parent=4, input_tokens=20, output_tokens=7),
        ]
    )
    assert list(rebuilt.marks) == ["here"]
    assert (rebuilt.marks["here"].row_id, rebuilt.marks["here"].length) == (3, 2)
    assert (rebuilt.last_input_tokens, rebuilt.last_output_tokens) == (20, 7)
    assert rebuilt.total_tokens == 42
    assert (rebuilt.last_prompt_id, rebuilt.last_row_id) == (4, 5)
