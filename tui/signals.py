"""SIGTERM and SIGHUP end the app the way Ctrl+Q does.

The running turn is cancelled (its partial answer stored as interrupted), the
conversation is saved and closed, and the app exits with the shell's
``128 + signal`` status. Without this a ``kill`` or a closed terminal window
would end the process before the last part of the answer reached the disk.

A terminal can also go away without a SIGHUP: the kernel sends it to the
session of the terminal, and a program started in a session of its own
that never took the terminal as its controlling one (a test harness, some
multiplexers and IDE panes) gets none. Textual does not notice: its input
thread reads the closed terminal's end-of-file over and over, a core's worth
of CPU for as long as the process lives. So a thread waits on the terminal
for its hang-up (``poll``: no wake-up before it) and treats it as a SIGHUP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp

HANDLED = (signal.SIGTERM, signal.SIGHUP)
HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL
"""What ``poll`` reports for a terminal whose other end is gone."""


def install(app: IkigaiApp) -> None:
    """Route SIGTERM and SIGHUP to ``stop`` on the app's event loop."""
    loop = asyncio.get_running_loop()
    for signum in HANDLED:
        # Windows has no loop signal handlers; a loop outside the main thread refuses them.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, _received, app, signum)
    if not app.is_headless and sys.platform.startswith("linux"):
        # Linux only: macOS documents that its poll does not support devices (terminals).
        watch_hangup(app, loop)


def watch_hangup(app: IkigaiApp, loop: asyncio.AbstractEventLoop) -> threading.Thread | None:
    """Treat the terminal hanging up (its other end closed) as a SIGHUP, in a thread that
    does nothing until then; ``None`` when stdin is not a terminal."""
    stdin = sys.__stdin__
    if stdin is None:
        return None
    try:
        descriptor = stdin.fileno()
    except (OSError, ValueError):
        return None
    if not os.isatty(descriptor):
        return None

    def wait() -> None:
        poller = select.poll()
        poller.register(descriptor, 0)  # hang-up and error are reported whatever the mask
        while True:
            events = poller.poll()
            if any(flags & HANGUP for _, flags in events):
                break
        with contextlib.suppress(RuntimeError):  # the loop is closed: the app is gone
            loop.call_soon_threadsafe(_received, app, signal.SIGHUP)

    thread = threading.Thread(target=wait, name="ikigai-hangup", daemon=True)
    thread.start()
    return thread


def _received(app: IkigaiApp, signum: int) -> None:
    if app.stopping_signal is not None:
        return
    app.stopping_signal = signum
    if signum == signal.SIGHUP:
        _stop_drawing(app)
    app.run_worker(stop(app, signum), group="signal", exit_on_error=False)


def _stop_drawing(app: IkigaiApp) -> None:
    """The terminal is gone: write nothing more to it.

    Textual writes through a bounded queue drained by a thread, which dies on
    the first write to a closed terminal; the thirty-first write after that
    blocks the event loop for good, before the answer is saved and even while
    the app shuts down (it writes its reset sequences). So repaints are
    suspended and the driver's writes are dropped: there is nobody to see them.
    """
    app.batch_update().__enter__()
    driver = app._driver
    if driver is not None:
        setattr(driver, "write", _discard)  # noqa: B010 (an instance override, on purpose)


def _discard(data: str) -> None:
    """Writes to a terminal that no longer exists."""


async def stop(app: IkigaiApp, signum: int) -> None:
    """Cancel and store the running turn, save the conversation, exit ``128 + signum``."""
    from ikigai.tui.launch import close_session

    await app.cancel_and_wait(show=False)
    await close_session(app)
    app.exit(return_code=128 + signum)
