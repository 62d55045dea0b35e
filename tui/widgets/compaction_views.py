"""What a compaction looks like in the scrollback: a divider, then the summary.

Everything above the divider stays (the original messages are stored and
shown) but is dimmed (CSS class ``compacted``): the model sees the summary and
the kept turns instead. The same widgets are made for a live compaction and
for a stored ``summary`` row when a conversation is opened again.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from ikigai.tui.widgets.markdown_stream import StreamingMarkdown
from ikigai.tui.widgets.safe_content import plain

COMPACTED = "compacted"
"""The CSS class of messages the model no longer sees verbatim."""


class CompactedDivider(Static):
    """``── compacted: ... ──`` between the summarized messages and what follows."""

    DEFAULT_CLASSES = "message compacted-divider"

    def __init__(self, description: str) -> None:
        super().__init__(plain(f"── {description} ──"))
        self.copy_text = description


class SummaryView(Vertical):
    """The summary that replaced the messages above it, as Markdown."""

    DEFAULT_CLASSES = "message summary"

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        yield Static("Summary: what the model sees instead of the dimmed messages", classes="title")
        yield StreamingMarkdown(self.summary, finished=True)

    @property
    def copy_text(self) -> str:
        """The summary's Markdown source."""
        return self.summary


def dim(widgets: Iterable[Widget]) -> None:
    """Mark ``widgets`` as compacted (shown dimmed)."""
    for widget in widgets:
        widget.add_class(COMPACTED)


def compaction_views(description: str, summary: str) -> list[Widget]:
    """The divider and the summary of one compaction."""
    return [CompactedDivider(description), SummaryView(summary)]
