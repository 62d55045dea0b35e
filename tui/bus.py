"""The message bus: one publish, many subscribers, nothing awaited.

The turn worker publishes every event of the engine's turn wrapped in a
``BusEvent`` tagged with the turn it belongs to (and the response's
accumulator). The scrollback, thinking pane, spinner and status bar
subscribe; the worker never calls a widget. Publishing is synchronous and
cheap: a subscriber posts a structural event (start, tool calls, done, error)
to its widget's queue and returns; a delta only marks the stream dirty for
the next frame (``tui.frames``), where the widgets take the new text from the
accumulator. Storage is not a subscriber: the engine records
beside the display, so no subscriber can hold the stream back. Nothing here
imports Textual, so the bus is testable without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ikigai.engine.accumulator import ResponseAccumulator
    from ikigai.engine.events import RunnerEvent


@dataclass(frozen=True, slots=True)
class BusEvent:
    """An event of turn ``turn_id`` (unique within the app session).

    ``response_number`` is 0 for the user prompt, then 1, 2, ... for each model
    response of the turn; ``row`` is the stored row of that prompt or response
    (the engine's handle, whose ``id`` is set once it is written), if any;
    ``accumulator`` is the record of the response streaming when the event
    came (``None`` before the first one), where a display takes the text that
    arrived since it last looked.
    """

    turn_id: int
    response_number: int
    event: RunnerEvent
    row: Any = None
    accumulator: ResponseAccumulator | None = None

    @property
    def type(self) -> str:
        """The event's type name (``text_delta``, ``tool_result``, ...)."""
        return str(self.event.type)


Subscriber = Callable[[BusEvent], None]


class MessageBus:
    """Delivers each published ``BusEvent`` to every subscriber, in subscription order.

    A subscriber that raises does not stop the others; the exception is passed
    to ``on_error`` (by default re-raised after every subscriber ran), so one
    broken widget cannot keep the others from seeing the turn.
    """

    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._subscribers: tuple[Subscriber, ...] = ()
        self._on_error = on_error

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are listening."""
        return len(self._subscribers)

    def publish(self, event: BusEvent) -> None:
        """Deliver ``event`` to every subscriber."""
        failure: BaseException | None = None
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception as exc:
                if self._on_error is not None:
                    self._on_error(exc)
                elif failure is None:
                    failure = exc
        if failure is not None:
            raise failure
