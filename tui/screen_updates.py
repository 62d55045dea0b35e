"""The main screen's paints: at most 60 a second, and never a slot skipped.

Textual paints a screen from an interval timer (``UPDATE_PERIOD``, 1/60 s)
that is paused while nothing needs painting. Its ticks keep to a fixed grid,
and when a paint overruns its slot (a layout while an answer streams takes
10–20 ms at 120x40 on a busy machine) the grid skips to the slot after the
next one: the following paint, the one that shows a key typed meanwhile,
then waits 17–33 ms on a loop with nothing else to do. ``SteadyUpdateTimer``
keeps Textual's limit, counted from the start of the last paint instead of
a grid: a paint asked for after the limit happens at once (on the loop's
next pass, so that the changes made in one pass are painted together).

It is a ``Timer`` to Textual (the screen only pauses and resumes it) that
never runs Textual's timer task; ``MainScreen`` uses it in place of the
private ``_update_timer`` Textual's ``Screen`` creates (Textual is pinned;
tests compare what the screen shows).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.screen import UPDATE_PERIOD, Screen
from textual.timer import Timer


class SteadyUpdateTimer(Timer):
    """Calls ``callback`` once after each ``resume()``, no sooner than ``period`` after the
    previous call began; ``pause()`` drops a call not made yet."""

    def __init__(
        self,
        screen: Screen[Any],
        callback: Callable[[], None],
        period: float = UPDATE_PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(screen, period, name="screen_update", callback=callback, pause=True)
        self._screen = screen
        self._paint = callback
        self._period = period
        self._clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self._last = float("-inf")

    def _start(self) -> None:
        """Nothing to start: calls are scheduled on the loop when resumed."""

    def pause(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def resume(self) -> None:
        if self._handle is None:
            delay = max(0.0, self._last + self._period - self._clock())
            self._handle = asyncio.get_running_loop().call_later(delay, self._call)

    def stop(self) -> None:
        self.pause()

    def _call(self) -> None:
        self._handle = None
        screen = self._screen
        if not screen.is_running or screen._closing or screen.app._exit:
            return  # as Textual's timer: no paint once the screen or the app is closing
        self._last = self._clock()
        try:
            with self._screen._context():
                self._paint()
        except Exception as error:
            self._screen.app._handle_exception(error)


class MainScreen(Screen[None]):
    """Textual's default screen, painted by a ``SteadyUpdateTimer``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._steady_timer: SteadyUpdateTimer | None = None

    @property
    def _update_timer(self) -> Timer:
        if self._steady_timer is None:
            self._steady_timer = SteadyUpdateTimer(self, self._on_timer_update)
        return self._steady_timer
