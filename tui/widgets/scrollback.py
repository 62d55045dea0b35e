"""The scrollback: every message of the conversation, streaming answers at the end.

It follows the stream only while the user is at the bottom (Textual's
anchor); once they scroll up it stays put and a "new content below" marker
appears until they are back at the bottom. Scrolling to the top asks the app
for earlier messages (``LoadEarlier``). Bus events of turns that are no longer
current (cancelled or superseded) are ignored. Each piece of a turn carries
the stored row of its prompt or response (``tui.widgets.rows``); messages can
be selected and acted on from the keyboard (``tui.widgets.navigation``), and a
``branched`` event takes the replaced message and what followed off the
screen before its new version arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ikigai.tui.widgets.bus_link import BusMessage
from ikigai.tui.widgets.message_views import (
    AssistantMessage,
    ErrorBlock,
    Notice,
    ToolCallView,
    UserMessage,
)
from ikigai.tui.widgets.navigation import MessageNavigation

SCROLLBACK_EVENTS = frozenset(
    {
        "user_prompt",
        "text_delta",
        "tool_run",
        "tool_result",
        "error",
        "done",
        "start",
        "branched",
        "turn_note",
        "fallback",
    }
)


class NewContentMarker(Static):
    """Shown at the bottom edge while content arrives below the visible part."""

    DEFAULT_CLASSES = "new-content"

    def __init__(self) -> None:
        super().__init__("↓ new content below (End) ↓")
        self.display = False


class Scrollback(MessageNavigation):
    """The conversation view. ``is_current(turn_id)`` decides which events to show;
    ``advise(error)`` turns a provider error into the block's "what to do" line."""

    can_focus = True

    class LoadEarlier(Message):
        """The user scrolled to the top and earlier messages exist."""

    @dataclass
    class CloseTurn(Message):
        """Freeze a turn (cancelled or failed) and ignore its later events.

        Posted, not called, so that the events queued before it are still shown.
        """

        turn_id: int
        """The turn to close."""
        status: str
        """How it ended: ``interrupted`` or ``error``."""
        note: str = ""
        """Said for an interruption when no answer had begun (an answer gets its label)."""

    def __init__(
        self,
        *,
        is_current: Callable[[int], bool],
        advise: Callable[[Any], str],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.is_current = is_current
        self.advise = advise
        self.marker = NewContentMarker()
        self.has_earlier = False
        self._answers: dict[tuple[int, int], AssistantMessage] = {}
        self._tools: dict[str, ToolCallView] = {}
        self._closed_turns: set[int] = set()

    def on_mount(self) -> None:
        self.mount(self.marker)
        self.anchor()

    # -- content --------------------------------------------------------------------

    def add(self, *widgets: Widget) -> None:
        """Append finished widgets at the end."""
        self.mount_all(widgets, before=self.marker)
        self._after_growth()

    def prepend(self, widgets: list[Widget]) -> None:
        """Insert earlier messages at the top, keeping what the user looks at in place."""
        if not widgets:
            return
        first = next((c for c in self.children if c is not self.marker), None)
        before_height = self.virtual_size.height
        if first is None:
            self.mount_all(widgets, before=self.marker)
        else:
            self.mount_all(widgets, before=first)

        def keep_position() -> None:
            grown = self.virtual_size.height - before_height
            self.scroll_to(y=self.scroll_y + grown, animate=False, immediate=True)

        self.call_after_refresh(keep_position)

    def clear_messages(self) -> None:
        """Remove every message (a new or another conversation)."""
        self._answers.clear()
        self._tools.clear()
        self.selected = None
        for child in list(self.children):
            if child is not self.marker:
                child.remove()
        self.marker.display = False
        self.anchor()

    def messages(self) -> list[Widget]:
        """The message widgets, top to bottom."""
        return [c for c in self.children if c is not self.marker]

    def last_answer(self) -> AssistantMessage | None:
        """The newest assistant answer shown."""
        for child in reversed(self.children):
            if isinstance(child, AssistantMessage):
                return child
        return None

    def on_scrollback_close_turn(self, message: CloseTurn) -> None:
        self._closed_turns.add(message.turn_id)
        labelled = False
        for key, answer in list(self._answers.items()):
            if key[0] == message.turn_id:
                answer.finish(message.status)
                labelled = True
                del self._answers[key]
        if message.status == "interrupted" and not labelled:
            self.note(message.note or "⏹ interrupted", warning=True)

    # -- bus ---------------------------------------------------------------------------

    def on_bus_message(self, message: BusMessage) -> None:
        bus_event = message.bus_event
        if bus_event.turn_id in self._closed_turns or not self.is_current(bus_event.turn_id):
            return
        event: Any = bus_event.event
        kind = bus_event.type
        key = (bus_event.turn_id, bus_event.response_number)
        if kind == "text_delta":
            self._answer(key, bus_event.row).append(event.text)
            self._after_growth()
        elif kind == "user_prompt":
            prompt = UserMessage(event.text)
            prompt.row = bus_event.row
            self.add(prompt)
            self.anchor()
        elif kind == "done":
            answer = self._answers.pop(key, None)
            if event.server_tools:
                self.note("⚙ " + " · ".join(event.server_tools))
            if answer is not None and event.paused:
                # The model goes on in the next response: one answer on screen.
                self._answers[(key[0], key[1] + 1)] = answer
            elif answer is not None:
                answer.finish("complete")
        elif kind == "turn_note":
            self.note(event.text, warning=event.level == "warning")
        elif kind == "fallback":
            self.note(f"↪ {event.describe()}", warning=True)
        elif kind == "error":
            answer = self._answers.pop(key, None)
            if answer is not None:
                answer.finish("error")
            block = ErrorBlock(event.category, event.message, self.advise(event))
            block.row = bus_event.row
            self.add(block)
        elif kind == "tool_run":
            view = ToolCallView(event.id, event.name, event.arguments)
            view.row = bus_event.row
            self._tools[event.id] = view
            self.add(view)
        elif kind == "tool_result":
            called = self._tools.pop(event.id, None)
            if called is not None:
                called.set_result(event.ok, event.output)
                self._after_growth()
        elif kind == "branched":
            self.cut_from(event.replaces)

    def _answer(self, key: tuple[int, int], row: Any = None) -> AssistantMessage:
        answer = self._answers.get(key)
        if answer is None:
            answer = AssistantMessage()
            answer.row = row
            self._answers[key] = answer
            self.mount(answer, before=self.marker)
        return answer

    def forget(self, removed: list[Widget]) -> None:
        """Tool calls and answers taken off the screen (a new branch) stop waiting."""
        gone = set(map(id, removed))
        for call_id, view in list(self._tools.items()):
            if id(view) in gone:
                del self._tools[call_id]
        for key, answer in list(self._answers.items()):
            if id(answer) in gone:
                del self._answers[key]

    def note(self, text: str, *, warning: bool = False) -> None:
        """Show a one-line notice."""
        self.add(Notice(text, warning=warning))

    # -- following ---------------------------------------------------------------------

    @property
    def at_bottom(self) -> bool:
        """Whether the view shows the end of the conversation."""
        return self.scroll_y >= self.max_scroll_y - 1

    def _after_growth(self) -> None:
        self.call_after_refresh(self._update_marker)

    def _update_marker(self) -> None:
        self.marker.display = not self.at_bottom and not self.is_anchored_following

    @property
    def is_anchored_following(self) -> bool:
        """True while the view sticks to the bottom as content arrives."""
        return self.is_anchored and not self._anchor_released

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.at_bottom and self.marker.display:
            self.marker.display = False
        if new_value <= 0 < old_value and self.has_earlier:
            self.post_message(self.LoadEarlier())

    def action_scroll_end_follow(self) -> None:
        """Jump to the end and follow the stream again."""
        self.anchor()
        self.marker.display = False
