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

Answer text is pulled, not pushed: a response's ``start`` event (posted by
the bus) makes it live, each frame (``pull``, from the app's frame clock)
takes the text that arrived since the last one from the response's
accumulator, and ``done`` or ``error`` takes the rest and freezes the answer
(a paused response hands its answer on to the next response of the turn).
A frame costs the same however long the conversation or the answer is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from ikigai.tui.gc_policy import POLICY
from ikigai.tui.widgets.bus_link import BusMessage
from ikigai.tui.widgets.message_views import (
    AssistantMessage,
    ErrorBlock,
    Notice,
    ToolCallView,
    UserMessage,
)
from ikigai.tui.widgets.navigation import MessageNavigation
from ikigai.tui.widgets.steady_scrollbar import SteadyScrollBar, steady_vertical_scrollbar
from ikigai.tui.widgets.tall_children import TallChildren

if TYPE_CHECKING:
    from textual.scrollbar import ScrollBar

    from ikigai.engine.accumulator import ResponseAccumulator

SCROLLBACK_EVENTS = frozenset(
    {
        "user_prompt",
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
"""The structural events the scrollback is posted; text deltas are pulled (``pull``)."""


class _Live:
    """A streaming response: its accumulator, how much of it is shown, and where.

    ``row`` is the stored row the answer will carry; ``answer`` appears with
    the first text (or is handed on from a paused response of the same turn).
    """

    __slots__ = ("accumulator", "answer", "cursor", "row")

    def __init__(
        self, accumulator: ResponseAccumulator, row: Any, answer: AssistantMessage | None
    ) -> None:
        self.accumulator = accumulator
        self.row = row
        self.cursor = 0
        self.answer = answer


class NewContentMarker(Static):
    """Shown at the bottom edge while content arrives below the visible part."""

    DEFAULT_CLASSES = "new-content"

    def __init__(self) -> None:
        super().__init__("↓ new content below (End) ↓")
        self.display = False


class Scrollback(MessageNavigation, TallChildren):
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
        self._live: dict[tuple[int, int], _Live] = {}
        self._continued: dict[tuple[int, int], AssistantMessage] = {}  # paused answers
        self._tools: dict[str, ToolCallView] = {}
        self._closed_turns: set[int] = set()

    def on_mount(self) -> None:
        self.mount(self.marker)
        self.anchor()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Textual's, without the second layout of the screen it asks for when the
        conversation grows: the layout calling this already placed the messages (and
        followed the end, when anchored); the scrollbars are updated all the same."""
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's vertical bar, repainted only when its thumb moves (``SteadyScrollBar``)."""
        return steady_vertical_scrollbar(self)

    def _scroll_update(self, virtual_size: Size) -> None:
        """Textual's, whose repaint of the bar happens only if its thumb moved."""
        bar = self.vertical_scrollbar
        if not isinstance(bar, SteadyScrollBar):
            super()._scroll_update(virtual_size)
            return
        with bar.steady():
            super()._scroll_update(virtual_size)

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
        self._live.clear()
        self._continued.clear()
        self._tools.clear()
        self.selected = None
        for child in list(self.children):
            if child is not self.marker:
                child.remove()
        POLICY.released()
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
        for key in [key for key in self._live if key[0] == message.turn_id]:
            labelled = self._end(key, message.status) is not None or labelled
        for key in [key for key in self._continued if key[0] == message.turn_id]:
            self._continued.pop(key).finish(message.status)
            labelled = True
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
        if kind == "start":
            if bus_event.accumulator is not None and key not in self._live:
                handed_on = self._continued.pop(key, None)
                self._live[key] = _Live(bus_event.accumulator, bus_event.row, handed_on)
        elif kind == "user_prompt":
            prompt = UserMessage(event.text)
            prompt.row = bus_event.row
            self.add(prompt)
            self.anchor()
        elif kind == "done":
            if event.server_tools:
                self.note("⚙ " + " · ".join(event.server_tools))
            if event.paused:
                # The model goes on in the next response: one answer on screen.
                answer = self._end(key, None)
                if answer is not None:
                    self._continued[(key[0], key[1] + 1)] = answer
            else:
                self._end(key, "complete")
        elif kind == "turn_note":
            self.note(event.text, warning=event.level == "warning")
        elif kind == "fallback":
            self.note(f"↪ {event.describe()}", warning=True)
        elif kind == "error":
            self._end(key, "error")
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

    def pull(self) -> None:
        """One frame: show the text the live responses received since the last one."""
        grew = False
        for key, live in list(self._live.items()):
            if key[0] in self._closed_turns:
                del self._live[key]
            elif self.is_current(key[0]) and self._take(live):
                # A turn no longer current waits for its ``CloseTurn`` to be frozen.
                grew = True
        if grew:
            self._after_growth()

    def _take(self, live: _Live) -> bool:
        """Show what ``live`` received since it was last looked at (the answer appears then)."""
        text, live.cursor = live.accumulator.text_parts_since(live.cursor)
        if not text:
            return False
        if live.answer is None:
            live.answer = AssistantMessage()
            live.answer.row = live.row
            self.mount(live.answer, before=self.marker)
        live.answer.feed(text)
        return True

    def _end(self, key: tuple[int, int], status: str | None) -> AssistantMessage | None:
        """The response ended: show the rest of its text and freeze its answer with
        ``status`` (``None``: leave it open, a later response goes on with it)."""
        live = self._live.pop(key, None)
        if live is None:
            return None
        self._take(live)
        if live.answer is not None and status is not None:
            live.answer.finish(status)
            self._after_growth()
        return live.answer

    def forget(self, removed: list[Widget]) -> None:
        """Tool calls and answers taken off the screen (a new branch) stop waiting."""
        POLICY.released()
        gone = set(map(id, removed))
        for call_id, view in list(self._tools.items()):
            if id(view) in gone:
                del self._tools[call_id]
        for key, live in list(self._live.items()):
            if live.answer is not None and id(live.answer) in gone:
                del self._live[key]
        for key, answer in list(self._continued.items()):
            if id(answer) in gone:
                del self._continued[key]

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
