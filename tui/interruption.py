"""What the transcript says when Esc interrupts a turn: one notice, true to the moment.

An answer that had begun is closed with its own ``⏹ interrupted`` label (what
arrived is kept and stored), so nothing else is said about it. Otherwise the
scrollback shows one note saying what was going on when the turn stopped,
read from the spinner's state: there is no partial answer to keep while a
tool runs or before the model wrote anything, and the note must not claim one.
"""

from __future__ import annotations

INTERRUPTED = "⏹ interrupted"

_WHILE: dict[str, str] = {
    "waiting for the model": "before the model answered",
    "thinking": "while the model was thinking (its thinking is kept; no answer yet)",
    "writing a tool call": "while the model wrote a tool call (nothing was run)",
    "running a tool": "while a tool ran (the tool was stopped; no answer followed)",
    "waiting for your approval": "while waiting for your approval (the tool did not run)",
}


def interruption_note(state: str) -> str:
    """The note for a turn interrupted while the spinner said ``state``."""
    if state.startswith("running "):
        state = "running a tool"
    elif state.startswith("retrying "):
        return f"{INTERRUPTED} while retrying the request (no answer yet)"
    where = _WHILE.get(state)
    return f"{INTERRUPTED} {where}" if where else INTERRUPTED
