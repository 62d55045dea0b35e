"""SIGTERM and SIGHUP end the app the way Ctrl+Q does.

The running turn is cancelled (its partial answer stored as interrupted), the
conversation is saved and closed, and the app exits with the shell's
``128 + signal`` status. Without this a ``kill`` or a closed terminal window
would end the process before the last part of the answer reached the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp

HANDLED = (signal.SIGTERM, signal.SIGHUP)


def install(app: IkigaiApp) -> None:
    """Route SIGTERM and SIGHUP to ``stop`` on the app's event loop."""
    loop = asyncio.get_running_loop()
    for signum in HANDLED:
        # Windows has no loop signal handlers; a loop outside the main thread refuses them.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, _received, app, signum)


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
