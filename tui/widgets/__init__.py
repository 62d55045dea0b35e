"""Reusable widgets of the ikigai TUI."""

from tui.widgets.markdown_stream import StreamingMarkdown
from tui.widgets.thinking import ThinkingView

__all__ = ["StreamingMarkdown", "ThinkingView"]
