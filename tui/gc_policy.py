"""The cyclic garbage collector and big content: pauses bounded by what is new.

A full collection walks every object the collector tracks, and a shown
answer keeps its rendered lines (Textual strips, Rich segments and styles:
about ten tracked objects a line). With a 300 KB answer on screen a full
collection takes a quarter of a second, and it runs again each time the heap
grew by a quarter: a key typed meanwhile waits for it, and the pauses grow
with the answer. So the app moves what it keeps into the collector's
permanent generation (``gc.freeze``): once the session is open, and then
after young collections at most every ``FREEZE_SECONDS`` (collecting the
young generations first, which is cheap), so a full collection only walks
what is new since the last freeze. The freeze runs on the event loop, soon
after the collection that asked for it (a collector callback must not call
the collector). Frozen objects are not collected as cycles: when the
scrollback drops messages (a new conversation, a new branch) everything is
unfrozen again (``released``) and the next full collection takes what was
dropped.

No library does this; the standard ``gc`` module has the calls.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

FREEZE_SECONDS = 0.25
"""What survived is frozen at most this often."""


class GcPolicy:
    """Freezes what the app keeps: ``settle`` once the session is open, ``released`` on drops."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._frozen_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = False
        self.freezes = 0
        """How many times objects were frozen."""

    def settle(self) -> None:
        """The session is open: freeze what start-up built; freeze again as the app grows."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            gc.callbacks.append(self._collected)
        self._freeze()

    def close(self) -> None:
        """The app ends: no more freezing from collections."""
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        self._loop = None

    def released(self) -> None:
        """Widgets were dropped: let the collector see every object again."""
        gc.unfreeze()

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        """Collector callback (any thread): after a young collection, ask for a freeze."""
        loop = self._loop
        if phase != "stop" or info.get("generation", 0) < 1 or loop is None or self._pending:
            return
        if self._clock() - self._frozen_at < FREEZE_SECONDS or loop.is_closed():
            return
        self._pending = True
        loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        self._pending = False
        self._frozen_at = self._clock()  # before collecting: that collection asks for nothing
        gc.collect(1)
        gc.freeze()
        self.freezes += 1


POLICY = GcPolicy()
"""The process's policy (the collector is one per process)."""
