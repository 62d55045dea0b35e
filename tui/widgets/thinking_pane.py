"""The thinking pane beside the scrollback: the model's reasoning of the current turn.

Wraps ``tui.widgets.thinking.ThinkingView`` (which does no rendering work while
hidden). A new turn clears it; events of stale turns are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ikigai.tui.widgets.bus_link import BusMessage
from ikigai.tui.widgets.thinking import ThinkingView

THINKING_EVENTS = frozenset({"user_prompt", "thinking_delta", "done", "error"})


class ThinkingPane(Vertical):
    """Title + the reasoning text of the current turn."""

    def __init__(self, *, is_current: Callable[[int], bool], id: str | None = None) -> None:
        super().__init__(id=id)
        self.is_current = is_current
        self.view = ThinkingView(id="thinking-view")
        self._response = 0

    def compose(self) -> ComposeResult:
        yield Static("Thinking", classes="pane-title")
        yield self.view

    def on_bus_message(self, message: BusMessage) -> None:
        bus_event = message.bus_event
        if not self.is_current(bus_event.turn_id):
            return
        kind = bus_event.type
        event: Any = bus_event.event
        if kind == "thinking_delta":
            if self.view.finished:
                self.view.clear()
            if bus_event.response_number != self._response and self._response:
                self.view.append("\n\n")
            self._response = bus_event.response_number
            self.view.append(event.text)
        elif kind == "user_prompt":
            self.view.clear()
            self._response = 0
        elif kind == "error" or (kind == "done" and event.finish_reason != "tool_use"):
            # A tool round continues the turn: its next response thinks on in the same pane.
            self.view.finish()
