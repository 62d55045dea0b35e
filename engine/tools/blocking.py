"""Running a tool's blocking body in a thread that cancellation and timeouts really stop.

``asyncio.to_thread`` cannot stop its thread: a cancelled ``grep`` would go on
reading a huge tree in the background, holding one of the few executor
threads. Here the body gets a ``StopFlag`` and calls ``check()`` at every
step it may repeat many times (a file, a line, a chunk); cancelling the
awaiting task (a cancelled turn, or ``execute``'s timeout) sets the flag,
and the body raises ``Stopped`` at its next check. The awaiting task waits
for that, up to ``JOIN_SECONDS``, so that once the cancellation has gone
through the work has stopped too (a thread stuck in a system call, on a
hung network file system, is left behind rather than hanging the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

JOIN_SECONDS = 5.0
"""How long a cancelled call waits for its thread to notice the stop flag."""

P = ParamSpec("P")
T = TypeVar("T")


class Stopped(Exception):
    """Raised by ``StopFlag.check`` once the call has been cancelled or has timed out."""


class StopFlag:
    """Set by the event loop when the call is abandoned; checked by the worker thread."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Ask the worker to stop."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether the worker was asked to stop."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Stopped`` if the worker was asked to stop."""
        if self._event.is_set():
            raise Stopped


def _deliver(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an abandoned future's exception as seen, so asyncio does not log it."""
    if not future.cancelled():
        future.exception()


async def run_stoppable(
    body: Callable[Concatenate[StopFlag, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``body(flag, *args, **kwargs)`` in a new thread; cancellation stops it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    flag = StopFlag()

    def work() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = body(flag, *args, **kwargs)
        except BaseException as caught:  # delivered to the awaiting task
            error = caught
        with contextlib.suppress(RuntimeError):  # the loop may be closed by now
            loop.call_soon_threadsafe(_deliver, done, result, error)

    name = getattr(body, "__name__", "body").strip("_")
    thread = threading.Thread(target=work, name=f"ikigai-tool-{name}", daemon=True)
    thread.start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        flag.set()
        try:
            await asyncio.wait_for(asyncio.shield(done), JOIN_SECONDS)
        except (Stopped, TimeoutError):
            pass
        except Exception:  # the body failed while stopping; the cancellation wins
            pass
        finally:
            done.add_done_callback(_retrieve)
        if done.done():
            thread.join()  # the body has returned; the thread is only exiting
        raise
