"""The one-line activity area: what the model is doing and for how long.

States: waiting for the model, thinking, writing, running a tool (an MCP tool
by name and server), retrying (n of m, in s seconds), idle. The elapsed time
comes from an injectable ``clock`` so snapshot tests can freeze it. The spinner is a bus subscriber
that only keeps the newest event that changes what it says (and asks for a
frame); once a frame (``pull``) it shows that one, so a thousand deltas cost
it one update and its state follows the bus's order. The animation moves at
most every ``FRAME_SECONDS``: in a stream frame when one is drawn (its repaint
rides along with the frame's), else from its own timer, which is paused
whenever no turn runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    from ikigai.engine.turns import TurnOutcome
    from ikigai.tui.bus import BusEvent

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FRAME_SECONDS = 0.2
"""Seconds between two animation frames (and updates of the elapsed time)."""
TIMER_AFTER = 0.6
"""The spinner's own timer moves it only when no stream frame did for this long (longer
than the frame clock's ``MAX_INTERVAL``): while an answer streams, its frames carry the
animation and the spinner adds no repaint of its own."""
_STATE_OF: dict[str, str] = {
    "user_prompt": "waiting for the model",
    "start": "waiting for the model",
    "thinking_delta": "thinking",
    "text_delta": "writing",
    "tool_call_start": "writing a tool call",
    "tool_run": "running a tool",
    "tool_result": "waiting for the model",
}


def running(tool_name: str) -> str:
    """What the spinner says while ``tool_name`` runs: MCP tools are named with their server."""
    from ikigai.engine.mcp.names import describe, is_mcp_name
    from ikigai.engine.textsafety import neutralize

    if is_mcp_name(tool_name):
        return f"running {neutralize(describe(tool_name))}"
    return "running a tool"


class Spinner(Widget):
    """Shows the state of the running turn, and a short note once it ended.

    ``state`` and ``note`` are reactives read by ``render``; the frame timer
    only runs while a turn does, so an idle spinner costs nothing.
    """

    DEFAULT_CSS = """
    Spinner {
        height: 1;
    }
    """

    state: reactive[str] = reactive("", layout=False)
    """What the model is doing now; empty when no turn runs."""
    note: reactive[str] = reactive("", layout=False)
    """What is shown when no turn runs (how the last one ended)."""
    frame: reactive[int] = reactive(0, layout=False)

    def __init__(
        self,
        *,
        is_current: Callable[[int], bool],
        clock: Callable[[], float] = time.monotonic,
        animate: bool = True,
        request_frame: Callable[[], None] = lambda: None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.is_current = is_current
        self.clock = clock
        self.animations = animate
        self.request_frame = request_frame
        self.started = 0.0
        self._ticked = 0.0  # when the animation last moved (time.monotonic)
        self._frame_ticked = 0.0  # when a stream frame last moved it
        self._latest: BusEvent | None = None  # the newest event that changes the state
        self._shown: BusEvent | None = None  # the one on display

    def on_mount(self) -> None:
        self._timer = self.set_interval(FRAME_SECONDS, self._tick, pause=True)

    def begin(self) -> None:
        """A turn starts now."""
        self.started = self.clock()
        self.note = ""
        self.set_state("waiting for the model")
        if self.animations:
            self._timer.resume()

    def stop(self, final: str = "") -> None:
        """The turn is over; ``final`` stays as a short note (or blank)."""
        self._timer.pause()
        self.state = ""
        self.note = final

    def ended(self, outcome: TurnOutcome | None) -> None:
        """The turn ended normally: say how, when it is worth saying."""
        if outcome is not None and outcome.status == "max_turns":
            self.stop(f"stopped after {outcome.responses} responses (max_turns)")
        elif outcome is not None and outcome.status == "error":
            self.stop("✗ the request failed")
        else:
            self.stop()

    def on_bus_event(self, event: BusEvent) -> None:
        """Bus subscriber: keep the newest event that changes what the spinner says."""
        if event.type in _STATE_OF or event.type == "retry":
            self._latest = event
            self.request_frame()

    def pull(self) -> None:
        """One frame: show what the newest event says (if its turn still runs)."""
        if self.state and self.animations:
            self._tick(in_frame=True)
        bus_event = self._latest
        if bus_event is None or bus_event is self._shown:
            return
        self._shown = bus_event
        if not self.is_current(bus_event.turn_id):
            return
        event: Any = bus_event.event
        if bus_event.type == "retry":
            self.state = (
                f"retrying {event.attempt} of {event.max_attempts} in "
                f"{event.delay_ms / 1000:.1f} s ({event.category})"
            )
        elif bus_event.type == "tool_run":
            self.state = running(event.name)
        else:
            self.state = _STATE_OF[bus_event.type]

    def set_state(self, state: str) -> None:
        """Show ``state`` (the elapsed time keeps counting) until the next event says otherwise."""
        self._shown = self._latest
        self.state = state

    def _tick(self, in_frame: bool = False) -> None:
        """Move the animation: in a frame every ``FRAME_SECONDS`` at most; from the timer
        only when no frame moved it lately (a stream's frames carry the animation)."""
        now = time.monotonic()
        if in_frame:
            if now - self._ticked >= FRAME_SECONDS * 0.9:
                self._frame_ticked = self._ticked = now
                self.frame += 1
        elif now - self._frame_ticked >= TIMER_AFTER:
            self._ticked = now
            self.frame += 1

    def render(self) -> Content:
        if not self.state:
            return Content(self.note)
        elapsed = max(0.0, self.clock() - self.started)
        frame = FRAMES[self.frame % len(FRAMES)]
        return Content(f"{frame} {self.state} · {elapsed:.1f} s · Esc to cancel")
