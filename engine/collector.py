"""The cyclic garbage collector during start-up: off until the run's long-lived objects exist.

Start-up (imports, classes, the configuration, for the app Textual's widgets
and styles) allocates a few hundred thousand objects that live as long as the
process and makes no garbage cycles worth collecting; every collection pass
over them is wasted. On a small machine those passes cost about a tenth of a
headless run and a third of the time to the app's first frame. So the
command line turns the collector off first thing (``pause_for_startup``) and
each front end turns it back on once start-up is done
(``resume_after_startup``): the headless run before its turn starts, the app
once its session is open (or failed to open). What exists then is moved into
the collector's permanent generation (``gc.freeze``), so later collections
walk only what the run allocates afterwards, as the app's ``tui.gc_policy``
does for what it keeps.

Nothing else turns the collector off: a process that never paused it (the
tests, a library user) is left alone, and resuming twice is harmless. The
standard ``gc`` module has the calls; no library is needed.
"""

from __future__ import annotations

import gc

_paused = False


def pause_for_startup() -> None:
    """Turn the collector off until ``resume_after_startup`` (no-op if it is off already)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_after_startup() -> None:
    """Freeze what start-up built and turn the collector back on, if ``pause_for_startup``
    turned it off (a collector someone else disabled stays off)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def paused() -> bool:
    """Whether start-up has the collector off now."""
    return _paused
