"""Frames: what streams in is drawn once a frame, at a rate that follows what a frame costs.

A streaming response's deltas are not handed to the widgets one by one. The
engine's ``ResponseAccumulator`` already keeps every piece, so the widgets
that show a stream (the scrollback's answer, the thinking pane, the spinner)
are pullers (``Puller``): once a frame they take what arrived since they last
looked (``text_parts_since``). A delta on the bus costs a flag here: the
first one after a frame schedules the next frame, the others find it
scheduled.

The rate adapts, as aider's throttle does: a frame's cost is the main
thread's CPU time from the pull until the screen has been painted (Textual
paints after the frame's handlers returned), smoothed over a few frames. The
next frame starts no sooner than ``cost / BUDGET`` after the last one began,
so drawing takes about ``BUDGET`` of a core however expensive frames get, and
never sooner than ``1 / MAX_FPS`` or later than ``MAX_INTERVAL``. When nothing
streams nothing is scheduled: an idle app spends nothing here.

Hand-written because Textual's refresh coalescing works per widget and per
repaint: it cannot tell that a thousand deltas are one frame. The frame is
scheduled on the event loop directly (``call_later``): a Textual timer costs
a task and a message per firing, several times the loop's own timer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ikigai.tui.input_priority import RETRY, InputPriority

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from ikigai.tui.bus import BusEvent

DELTA_TYPES = frozenset({"text_delta", "thinking_delta", "tool_call_delta"})
"""Bus events that only add to the accumulator: they mark the stream dirty, nothing more."""


class Puller(Protocol):
    """A widget that takes what arrived in the accumulators since it last looked."""

    def pull(self) -> None: ...


def _raise(error: Exception) -> None:
    raise error


class FrameClock:
    """Schedules frames while something streams; each frame calls every puller once.

    ``owner`` paints the frames (its ``call_after_refresh`` tells when a frame
    is on screen); ``on_error`` gets an exception a puller raised (the app
    passes its own handler, which shows it and exits, as for any widget). A
    frame due while ``yield_to`` is waiting for input to reach the screen
    waits until it has (``tui.input_priority``).
    """

    MAX_FPS = 30
    """At most this many frames a second."""
    BUDGET = 0.03
    """The share of a core frames may take on average: the next frame waits ``cost / BUDGET``
    (with the network and the engine, 100 tokens/s then stays under a tenth of a core)."""
    MAX_INTERVAL = 0.5
    """However expensive a frame is, the next one comes within this many seconds."""

    def __init__(
        self,
        owner: MessagePump,
        *,
        on_error: Callable[[Exception], None] = _raise,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.thread_time,
        yield_to: InputPriority | None = None,
    ) -> None:
        self._owner = owner
        self._yield_to = yield_to
        self._held_since: float | None = None
        self._on_error = on_error
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._pullers: list[Puller] = []
        self._pending: asyncio.TimerHandle | None = None
        self._not_before = 0.0
        self._cost = 0.0
        self._closed = False
        self.frames = 0
        """Frames drawn so far."""

    def add(self, puller: Puller) -> None:
        """Call ``puller.pull()`` in every frame from now on."""
        self._pullers.append(puller)

    @property
    def interval(self) -> float:
        """Seconds between the starts of two frames at the current cost."""
        return min(self.MAX_INTERVAL, max(1 / self.MAX_FPS, self._cost / self.BUDGET))

    @property
    def pending(self) -> bool:
        """Whether a frame is scheduled."""
        return self._pending is not None

    def on_bus_event(self, event: BusEvent) -> None:
        """Bus subscriber: a delta makes the next frame due (structural events are posted)."""
        if event.type in DELTA_TYPES:
            self.touch()

    def touch(self) -> None:
        """Something new is in an accumulator: draw it in the next frame."""
        if self._pending is None and not self._closed:
            delay = max(0.0, self._not_before - self._clock())
            self._pending = asyncio.get_running_loop().call_later(delay, self._scheduled)

    def draw(self) -> None:
        """Draw a frame now (a scheduled one is dropped: this one takes its place)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._frame()

    def close(self) -> None:
        """Draw no more frames (the app is closing)."""
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _scheduled(self) -> None:
        self._pending = None
        if self._closed:
            return
        if self._yield_to is not None:
            self._held_since = self._yield_to.hold(self._held_since)
            if self._held_since is not None:
                self._pending = asyncio.get_running_loop().call_later(RETRY, self._scheduled)
                return
        try:
            self._frame()
        except Exception as error:
            self._on_error(error)

    def _frame(self) -> None:
        start, cpu = self._clock(), self._cpu_clock()
        self._not_before = start + self.interval
        for puller in self._pullers:
            puller.pull()
        self.frames += 1
        self._owner.call_after_refresh(self._painted, start, cpu)

    def _painted(self, start: float, cpu: float) -> None:
        """The frame is on screen: its cost sets when the next one may start."""
        cost = self._cpu_clock() - cpu
        self._cost = cost if self.frames == 1 else (self._cost + cost) / 2
        self._not_before = start + self.interval
