"""Live thinking markers: which responses of a turn had thinking, and where to say so.

A bus subscriber (called in the turn worker's publish, so it only appends)
collects each response's thinking deltas; when the response ends (``done``,
``error``, or the turn is interrupted) it asks the scrollback, through the
scrollback's own queue so the stream's earlier events are shown first, to put
a ``ThinkingMarker`` above the response's answer (or, for a response that only
called tools, where its tool calls are about to appear). Restored
conversations get their markers from the stored rows (``tui.widgets.restore``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ikigai.tui.widgets.message_views import AssistantMessage, ToolCallView
from ikigai.tui.widgets.thinking_marker import ThinkingMarker
from ikigai.tui.widgets.versions import VersionIndicator

if TYPE_CHECKING:
    from textual.widget import Widget

    from ikigai.tui.app import IkigaiApp
    from ikigai.tui.bus import BusEvent

MARK_EVENTS = frozenset({"thinking_delta", "text_delta", "done", "error"})

Key = tuple[int, int]
"""``(turn id, response number)``."""


class ThinkingMarks:
    """The app's live thinking markers (one instance, subscribed to the bus)."""

    def __init__(self, app: IkigaiApp) -> None:
        self.app = app
        self._thinking: dict[Key, list[str]] = {}
        self._rows: dict[Key, Any] = {}
        self._answered: set[Key] = set()

    def __call__(self, bus_event: BusEvent) -> None:
        kind = bus_event.type
        if kind not in MARK_EVENTS:
            return
        key = (bus_event.turn_id, bus_event.response_number)
        if kind == "thinking_delta":
            self._thinking.setdefault(key, []).append(str(getattr(bus_event.event, "text", "")))
            self._rows[key] = bus_event.row
        elif kind == "text_delta":
            self._answered.add(key)
        else:
            self._place(key)

    def turn_closed(self, turn_id: int) -> None:
        """The turn was interrupted: mark what thought before it stopped."""
        for key in [k for k in self._thinking if k[0] == turn_id]:
            self._place(key)

    def _place(self, key: Key) -> None:
        parts = self._thinking.pop(key, None)
        row = self._rows.pop(key, None)
        answered = key in self._answered
        self._answered.discard(key)
        thinking = "".join(parts or ())
        if not thinking.strip() or not self.app.is_current(key[0]):
            return
        scrollback = self.app.scrollback
        scrollback.call_later(self._mount, key[0], thinking, row, answered)

    def _mount(self, turn_id: int, thinking: str, row: Any, answered: bool) -> None:
        if not self.app.is_current(turn_id):
            return  # another conversation (or branch) is shown now
        scrollback = self.app.scrollback
        answer = scrollback.last_answer() if answered else None
        marker = ThinkingMarker(thinking, row)
        if answer is not None:
            scrollback.mount(marker, before=answer)
        else:
            scrollback.mount(marker, before=scrollback.marker)


def marker_for(children: list[Widget], widget: Widget) -> ThinkingMarker | None:
    """The marker of the response ``widget`` (an answer or a tool call) shows, if any:
    right above an answer, or above the first of a response's tool calls."""
    if widget not in children:
        return None
    for child in reversed(children[: children.index(widget)]):
        if isinstance(child, ThinkingMarker):
            return child
        if isinstance(widget, AssistantMessage) or not isinstance(
            child, ToolCallView | VersionIndicator
        ):
            return None
    return None


def open_thinking(app: IkigaiApp, widget: Widget | None) -> None:
    """``t`` on a selected message: open its thinking, or say there is none."""
    marker = marker_for(list(app.scrollback.children), widget) if widget is not None else None
    if marker is None:
        app.note("this message had no thinking (only answers that thought carry ✻)")
        return
    marker.open()
