"""Input first: streaming work steps aside while a key is on its way to the screen.

A key typed during a fast stream travels through several hops of the event
loop (the app, the focused widget, the screen's next update, which Textual
starts on a 1/60 s grid), and each hop can land behind a step of streaming
work: a frame, a Markdown render step, the layout and repaint they ask for
(each about 10 ms at 120x40). Stacked, a key took 60 ms and more to echo.
So from the moment a key (or a paste, a click, a scroll) reaches the app
until the screen has been painted after it, the streaming steps that would
start put themselves off (``hold``) and look again ``RETRY`` later; the
key then takes its hops on a loop that does nothing else. A step waits at
most ``MAX_HOLD`` however many keys follow: typing or scrolling without
pause slows the stream's drawing, never stops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from textual import events
from textual.app import App
from textual.message import Message
from textual.screen import Screen

MAX_HOLD = 0.1
"""At most this many seconds a streaming step waits (it runs earlier, once the screen has
been painted after the input)."""
RETRY = 0.005
"""Seconds after which a step that waited looks again."""

PRIORITY_EVENTS = (
    events.Key,
    events.Paste,
    events.MouseDown,
    events.MouseScrollUp,
    events.MouseScrollDown,
)
"""Input that goes first; mouse moves do not (a moving mouse would hold the stream back)."""


class InputPriority:
    """Whether input a person is waiting to see the effect of is on its way to the screen."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self._unpainted = 0

    def arrived(self, message: Message) -> bool:
        """Note ``message`` if it is input that goes first (then ``True``: call ``painted``
        once the screen has been painted after it)."""
        if not isinstance(message, PRIORITY_EVENTS):
            return False
        self._unpainted += 1
        self._until = self._clock() + MAX_HOLD
        return True

    def painted(self) -> None:
        """The screen was painted after one noted input event."""
        self._unpainted = max(0, self._unpainted - 1)

    @property
    def waiting(self) -> bool:
        """Whether streaming work should step aside now."""
        if self._unpainted and self._clock() >= self._until:
            self._unpainted = 0  # a release that never came (a screen closed meanwhile)
        return self._unpainted > 0

    def hold(self, since: float | None) -> float | None:
        """For a step that has waited since ``since`` (``None``: it has not waited): when
        it should wait (more), the time it began waiting; ``None`` when it should run now,
        input or not, once it has waited ``MAX_HOLD`` (continuous typing or scrolling
        slows streaming, never stops it)."""
        if not self.waiting:
            return None
        now = self._clock()
        if since is None:
            return now
        return since if now < since + MAX_HOLD else None


_PRIORITIES: WeakKeyDictionary[App[Any], InputPriority] = WeakKeyDictionary()


def priority_of(app: App[Any]) -> InputPriority:
    """The app's ``InputPriority`` (one per app; an app that never notes input never waits)."""
    priority = _PRIORITIES.get(app)
    if priority is None:
        priority = _PRIORITIES[app] = InputPriority()
    return priority


class InputFirst(App[int]):
    """An app whose input, as it arrives from the terminal, makes streaming work wait."""

    def post_message(self, message: Message) -> bool:
        """Textual's, noting input first (the driver posts every key and click here).

        The release is queued behind the event, after two paints: when the app
        hands the first call to the screen the focused widget may not have taken
        the event yet (the screen, finding nothing to paint, runs the call at
        once); the second call runs after the paint that shows the event.
        """
        priority = priority_of(self)
        posted = super().post_message(message)
        if priority.arrived(message) and not (posted and self._after_paint(priority, 2)):
            priority.painted()
        return posted

    def get_default_screen(self) -> Screen[Any]:
        """Textual's default screen, painted without skipped slots (``tui.screen_updates``)."""
        from ikigai.tui.screen_updates import MainScreen

        return MainScreen(id="_default")

    def _after_paint(self, priority: InputPriority, paints: int) -> bool:
        if paints == 0:
            priority.painted()
            return True
        return self.call_after_refresh(self._after_paint, priority, paints - 1)
