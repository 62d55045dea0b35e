"""Connecting widgets to the message bus without calling them from the worker.

``forward_to(widget)`` makes a bus subscriber that posts each event to the
widget's message queue as a ``BusMessage``; the widget handles it on its own
turn of the event loop (``on_bus_message``). ``types`` filters what is worth
posting: the structural events a widget reacts to (start, tool calls, done,
error). Deltas are never posted: a message per delta is what made streaming
cost most of a core. The frame clock (``tui.frames``) takes them instead, and
the widgets read the new text from the response's accumulator once a frame.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump

from ikigai.tui.bus import BusEvent


@dataclass
class BusMessage(Message, bubble=False):
    """A bus event delivered to one widget."""

    bus_event: BusEvent
    """The event, with its turn and response number."""


def forward_to(
    target: MessagePump, types: Collection[str] | None = None
) -> Callable[[BusEvent], None]:
    """A subscriber posting events (of ``types``, or all) to ``target``."""
    wanted = frozenset(types) if types is not None else None

    def subscriber(event: BusEvent) -> None:
        if wanted is None or event.type in wanted:
            target.post_message(BusMessage(event))

    return subscriber
