"""The one-line activity area: what the model is doing and for how long.

States: waiting for the model, thinking, writing, running a tool (an MCP tool
by name and server), retrying (n of m, in s seconds), idle. The elapsed time
comes from an injectable ``clock`` so snapshot tests can freeze it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ikigai.tui.widgets.bus_link import BusMessage

if TYPE_CHECKING:
    from ikigai.engine.turns import TurnOutcome

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNER_EVENTS = frozenset(
    {
        "user_prompt",
        "start",
        "thinking_delta",
        "text_delta",
        "tool_call_start",
        "tool_run",
        "tool_result",
        "retry",
    }
)
"""The bus events that change what the spinner says."""
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
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.is_current = is_current
        self.clock = clock
        self.animations = animate
        self.started = 0.0

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.1, self._tick, pause=True)

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

    def on_bus_message(self, message: BusMessage) -> None:
        bus_event = message.bus_event
        if not self.is_current(bus_event.turn_id):
            return
        event: Any = bus_event.event
        if bus_event.type == "retry":
            self.set_state(
                f"retrying {event.attempt} of {event.max_attempts} in "
                f"{event.delay_ms / 1000:.1f} s ({event.category})"
            )
            return
        if bus_event.type == "tool_run":
            self.set_state(running(event.name))
            return
        state = _STATE_OF.get(bus_event.type)
        if state is not None:
            self.set_state(state)

    def set_state(self, state: str) -> None:
        """Show ``state`` (the elapsed time keeps counting)."""
        self.state = state

    def _tick(self) -> None:
        self.frame += 1

    def render(self) -> Content:
        if not self.state:
            return Content(self.note)
        elapsed = max(0.0, self.clock() - self.started)
        frame = FRAMES[self.frame % len(FRAMES)]
        return Content(f"{frame} {self.state} · {elapsed:.1f} s · Esc to cancel")
