"""Stored rows back into scrollback widgets (resuming, loading earlier pages, showing
another branch). Each message widget carries its row (``tui.widgets.rows``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from textual.widget import Widget

from ikigai.providers.events import Error
from ikigai.tui.widgets.compaction_views import compaction_views, dim
from ikigai.tui.widgets.message_views import (
    AssistantMessage,
    ErrorBlock,
    Notice,
    ToolCallView,
    UserMessage,
)
from ikigai.tui.widgets.rows import StoredRow
from ikigai.tui.widgets.thinking_marker import ThinkingMarker

if TYPE_CHECKING:
    from ikigai.storage.models import StoredMessage


class Advise(Protocol):
    """What to do about a failed answer (``partial``: part of it had arrived)."""

    def __call__(self, error: Error, partial: bool | None = None) -> str: ...


def views_from_rows(
    rows: Sequence[StoredMessage],
    advise: Advise,
    *,
    compacted_below: bool = False,
) -> list[Widget]:
    """One widget per stored row worth showing, finished (frozen) and in order.

    A ``summary`` row (a compaction) dims what came before it and shows the
    divider and the summary; ``compacted_below`` dims every row (an earlier
    page above a compaction already shown).
    """
    views: list[Widget] = []
    tools: dict[str, ToolCallView] = {}
    answer: StoredRow | None = None
    previous = ""  # the kind of the row before: what an ``interrupted`` row interrupted
    for row in rows:
        kind = row.kind
        if kind == "user":
            prompt = UserMessage(row.content)
            prompt.row = StoredRow(row.id)
            views.append(prompt)
        elif kind == "assistant":
            answer = StoredRow(row.id)
            thinking = row.data.get("thinking")
            if isinstance(thinking, str) and thinking.strip():
                views.append(ThinkingMarker(thinking, answer))
            if row.content:
                status = "interrupted" if row.status in ("interrupted", "streaming") else row.status
                shown = AssistantMessage(row.content, finished=True, status=status)
                shown.row = answer
                views.append(shown)
            elif row.status in ("interrupted", "streaming") and not row.data.get("tool_calls"):
                views.append(Notice(_interrupted("user")))
            if row.status == "error":
                error = Error(
                    row.data.get("error_category", "unknown"),
                    str(row.data.get("error_message", "")),
                    row.data.get("http_status"),
                    row.data.get("retry_after_ms"),
                )
                advice = advise(error, partial=bool(row.content))
                block = ErrorBlock(error.category, error.message, advice)
                block.row = answer
                views.append(block)
        elif kind == "tool_call":
            view = ToolCallView(
                str(row.data.get("id", "")),
                str(row.data.get("name", "")),
                str(row.data.get("arguments", "")),
            )
            view.row = StoredRow(row.parent_id) if row.parent_id is not None else answer
            tools[view.call_id] = view
            views.append(view)
        elif kind == "tool_result":
            call_id = str(row.data.get("id", ""))
            ok = bool(row.data.get("success", True))
            output = str(row.data.get("output", row.content))
            called = tools.pop(call_id, None)
            if called is None:
                called = ToolCallView(call_id, str(row.data.get("name", "")), "")
                called.row = answer
                views.append(called)
            called.output, called.ok = output, ok
            called.set_class(not ok, "failed")
        elif kind == "command":
            views.append(Notice(f"› {row.content}"))
        elif kind == "mark":
            views.append(Notice(f"⚑ mark '{row.content}'"))
        elif kind == "rewind":
            views.append(Notice(f"⟲ context rewound to mark '{row.content}'"))
        elif kind == "clear":
            views.append(Notice("── context cleared ──"))
        elif kind == "interrupted":
            views.append(Notice(_interrupted(previous)))
        elif kind == "summary":
            from ikigai.engine.compaction import Compacted

            dim(views)
            done = Compacted.from_record(row.content, row.data)
            views.extend(compaction_views(done.describe(), row.content))
        previous = kind
    if compacted_below:
        dim(views)
    return views


def _interrupted(previous: str) -> str:
    """The note for an ``interrupted`` row: the turn stopped before any answer, or while
    the tools the model called ran (no answer followed them)."""
    if previous in ("tool_call", "tool_result", "assistant"):
        return "⏹ interrupted while a tool ran (no answer followed)"
    return "⏹ interrupted before the model answered"
