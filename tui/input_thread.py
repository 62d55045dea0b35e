"""The thread that reads keys gets the interpreter soon, however busy the event loop is.

Textual reads the terminal in a thread of its own. When a key arrives, that
thread must take CPython's global interpreter lock from the event loop's
thread before it can hand the key on. CPython makes the holder let go only
after the waiter has waited a whole switch interval (5 ms by default) with
no release in between, and every brief release restarts that wait: the event
loop releases the lock at each turn (its poll for I/O), so while it runs
steps of about 4 ms back to back (decoding and rebuilding the context of a
100,000-message conversation, rendering a long answer) the waiter never
asks, and only gets the lock when it happens to win the race at a release.
Keys then waited 100 to 280 ms before the app even saw them, with no step
of the loop longer than 5 ms. With an interval shorter than a step, the
input thread asks within the interval and is let in at once.

The interval only matters while a thread is waiting for the lock: the key
reader and Textual's output thread wait for microseconds, and the database
thread between queries. It is the whole process's, so a thread doing CPU
work (a tool's) is switched with the event loop every millisecond instead of
every five: more switches, each about a microsecond. No library does this; ``sys.setswitchinterval``
is the standard call.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL = 0.001
"""Seconds a thread waits for the interpreter lock before the holder is asked to let go:
well under the event loop's steps (about 4 ms), so a key is never kept waiting by them."""


@contextmanager
def input_thread_first() -> Iterator[None]:
    """While the app runs, a thread waiting for the interpreter waits ``SWITCH_INTERVAL``
    at most; the interval in force before is restored afterwards."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)
