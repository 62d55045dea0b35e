"""The app's side of the context features: compaction on screen, ``/context``, notes.

``show_notice`` shows what the engine says: a compaction dims the scrollback
above a "compacted" divider and shows the summary; other notices are one
line. ``context_lines`` renders the engine's ``ContextReport`` for
``/context``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ikigai.engine.events import CompactionNotice, Notice
from ikigai.tui.widgets.compaction_views import compaction_views, dim

if TYPE_CHECKING:
    from ikigai.engine.compaction import Compacted
    from ikigai.engine.meter import ContextReport
    from ikigai.tui.app import IkigaiApp


def show_notice(app: IkigaiApp, notice: Notice) -> None:
    """Put an engine notice on screen."""
    if isinstance(notice, CompactionNotice) and notice.compacted is not None:
        show_compaction(app, notice.compacted)
        return
    app.scrollback.note(notice.text, warning=notice.level == "warning")


def show_compaction(app: IkigaiApp, compacted: Compacted) -> None:
    """Dim what the summary replaced and show the divider and the summary below it."""
    scrollback = app.scrollback
    dim(scrollback.messages())
    scrollback.add(*compaction_views(compacted.describe(), compacted.summary))


def _tokens(count: int) -> str:
    return f"~{count:,}"


def context_lines(report: ContextReport) -> list[str]:
    """``/context``: the total against the window, then each part with its tokens."""
    counted = "counted by the provider" if report.measured else "estimated"
    if report.limit:
        head = (
            f"context of {report.model}: {_tokens(report.tokens)} of {report.limit:,} tokens "
            f"({round(100 * (report.fill or 0))}%, {counted})"
        )
        if report.window and report.window != report.limit:
            head += f"; the window is {report.window:,}, the rest is kept for the answer"
        if report.auto_compact:
            head += f" · auto-compaction at {round(100 * report.threshold)}%"
        else:
            head += " · auto-compaction off"
    else:
        head = (
            f"context of {report.model}: {_tokens(report.tokens)} tokens ({counted}); the "
            "model's window is unknown (set [models] context_window in the config)"
        )
    lines = [head]
    width = max((len(part.label) for part in report.parts), default=0)
    for part in report.parts:
        detail = f"  ({part.detail})" if part.detail else ""
        lines.append(f"  {part.label:<{width}}  {_tokens(part.tokens):>9} tokens{detail}")
    if report.cost_usd is not None:
        mark = "at least " if report.cost_partial else ""
        lines.append(f"  cost so far: {mark}${report.cost_usd:.4f}")
    elif report.cost_partial:
        lines.append("  cost so far: unknown (no price for this model: [models] in the config)")
    lines.extend(f"  note: {note}" for note in report.notes)
    return lines
