"""The message bus: one publish, many subscribers.

The turn worker publishes every runner event wrapped in a ``BusEvent`` tagged
with the conversation and turn it belongs to. The scrollback, thinking pane,
spinner, status bar and the storage recorder subscribe; the worker never calls
a widget. Nothing here imports Textual, so the bus is testable without a
terminal: a subscriber is any callable, and one that returns an awaitable is
awaited before the next subscriber runs (the recorder commits the prompt before
the request is sent this way).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ikigai.engine.turns import RunnerEvent


@dataclass(frozen=True, slots=True)
class BusEvent:
    """A runner event and where it comes from.

    ``response_number`` is the runner's (0 for the user prompt, then 1, 2, ...
    for each model response of the turn).
    """

    conversation_id: int
    turn_id: int
    response_number: int
    event: RunnerEvent

    @property
    def type(self) -> str:
        """The event's type name (``text_delta``, ``tool_result``, ...)."""
        return str(self.event.type)


Subscriber = Callable[[BusEvent], Awaitable[None] | None]


class MessageBus:
    """Delivers each published ``BusEvent`` to every subscriber, in subscription order.

    A subscriber that raises does not stop the others; the exception is passed
    to ``on_error`` (by default re-raised after every subscriber ran), so a
    broken widget cannot keep the recorder from storing the turn.
    """

    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._subscribers: list[Subscriber] = []
        self._on_error = on_error

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are listening."""
        return len(self._subscribers)

    async def publish(self, event: BusEvent) -> None:
        """Deliver ``event`` to every subscriber, awaiting those that return awaitables."""
        failure: BaseException | None = None
        for subscriber in tuple(self._subscribers):
            try:
                result = subscriber(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                if self._on_error is not None:
                    self._on_error(exc)
                elif failure is None:
                    failure = exc
        if failure is not None:
            raise failure

    def sink_for(self, conversation_id: int, turn_id: int) -> Callable[[int, Any], Awaitable[None]]:
        """A ``TurnRunner`` sink that publishes its events tagged with these ids."""

        async def sink(response_number: int, event: RunnerEvent) -> None:
            await self.publish(BusEvent(conversation_id, turn_id, response_number, event))

        return sink
