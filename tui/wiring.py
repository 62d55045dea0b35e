"""Who hears what on the app's bus, and who draws in its frames.

Structural events (a prompt, a response's start and end, tool runs, errors)
are posted to the widgets' own queues (``forward_to``); the spinner keeps
the newest event itself and the frame clock hears the deltas, so a text
delta costs a flag and no message. Once a frame the scrollback, thinking
pane and spinner pull what arrived (``tui.frames``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ikigai.tui.widgets.bus_link import forward_to
from ikigai.tui.widgets.scrollback import SCROLLBACK_EVENTS
from ikigai.tui.widgets.thinking_pane import THINKING_EVENTS

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp

STATUS_EVENTS = frozenset({"user_prompt", "done"})
"""The events after which the app refreshes the status bar."""


def wire(app: IkigaiApp) -> None:
    """Subscribe the app's widgets to its bus and add the pullers to its frame clock."""
    bus = app.bus
    bus.subscribe(forward_to(app.scrollback, SCROLLBACK_EVENTS))
    bus.subscribe(app.thinking_marks)  # after the scrollback: its queue goes first
    bus.subscribe(forward_to(app.thinking_pane, THINKING_EVENTS))
    bus.subscribe(app.spinner.on_bus_event)
    bus.subscribe(forward_to(app, STATUS_EVENTS))
    bus.subscribe(app.frames.on_bus_event)
    app.spinner.request_frame = app.frames.touch
    for puller in (app.scrollback, app.thinking_pane, app.spinner):
        app.frames.add(puller)
