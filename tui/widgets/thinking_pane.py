"""The thinking pane beside the scrollback: the model's reasoning of the current turn.

Wraps ``tui.widgets.thinking.ThinkingView`` (which does no rendering work while
hidden). A new turn clears it; events of stale turns are ignored.

The pane takes no room until there is thinking (``mode`` ``auto``): each turn
starts with it hidden, and it appears when reasoning arrives, provided the
screen is at least ``WIDE`` columns wide (narrower, the answer keeps the whole
width and the spinner says "thinking"). Ctrl+T (``toggle``) shows or hides it
for the rest of the session, whatever the width (``shown`` / ``hidden``);
``[ui] show_thinking = false`` starts hidden. The
reasoning is pulled once a frame (``pull``) from the accumulator of the
response whose ``start`` the bus posted, like the scrollback's answer text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ikigai.tui.widgets.bus_link import BusMessage
from ikigai.tui.widgets.thinking import ThinkingView

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator

THINKING_EVENTS = frozenset({"user_prompt", "start", "done", "error"})
WIDE = 100
"""Columns from which the pane appears by itself when a model thinks."""
PaneMode = Literal["auto", "shown", "hidden"]


class ThinkingPane(Vertical):
    """Title + the reasoning text of the current turn."""

    def __init__(self, *, is_current: Callable[[int], bool], id: str | None = None) -> None:
        super().__init__(id=id)
        self.is_current = is_current
        self.view = ThinkingView(id="thinking-view")
        self._response = 0  # the response whose reasoning was shown last
        self._live: tuple[int, int, ResponseAccumulator] | None = None  # turn, response, record
        self._cursor = 0
        self.mode: PaneMode = "auto"

    def start(self, show_thinking: bool) -> None:
        """At mount: ``auto`` (the setting on, the default) or ``hidden``."""
        self.mode = "auto" if show_thinking else "hidden"
        self.display = False

    def toggle(self) -> None:
        """Ctrl+T: hide the pane if it shows, else show it; for the rest of the session."""
        self.mode = "hidden" if self.display else "shown"
        self.display = self.mode == "shown"

    def _thinking_arrived(self) -> None:
        if self.mode == "auto" and not self.display and self.app.size.width >= WIDE:
            self.display = True

    def compose(self) -> ComposeResult:
        yield Static("Thinking", classes="pane-title")
        yield self.view

    def on_bus_message(self, message: BusMessage) -> None:
        bus_event = message.bus_event
        if not self.is_current(bus_event.turn_id):
            return
        kind = bus_event.type
        event: Any = bus_event.event
        if kind == "start":
            self.pull()
            if bus_event.accumulator is not None:
                self._live = (bus_event.turn_id, bus_event.response_number, bus_event.accumulator)
                self._cursor = 0
        elif kind == "user_prompt":
            self.view.clear()
            self._response = 0
            self._live = None
            if self.mode == "auto":
                self.display = False  # until this turn's reasoning arrives
        elif kind == "error" or kind == "done":
            self.pull()
            self._live = None
            if kind == "error" or event.finish_reason != "tool_use":
                # A tool round continues the turn: its next response thinks on in the same pane.
                self.view.finish()

    def pull(self) -> None:
        """One frame: show the reasoning that arrived since the last one."""
        live = self._live
        if live is None:
            return
        turn_id, response, accumulator = live
        if not self.is_current(turn_id):
            self._live = None
            return
        text, self._cursor = accumulator.thinking_parts_since(self._cursor)
        if not text:
            return
        self._thinking_arrived()
        if self.view.finished:
            self.view.clear()
        if response != self._response and self._response:
            text = "\n\n" + text
        self._response = response
        self.view.feed(text)
