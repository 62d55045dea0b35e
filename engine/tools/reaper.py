"""The supervisor of one ``bash`` call: when the call ends, every process it started dies.

Run by ``bash.py`` as ``python -I -S reaper.py PARENT GRACE STATUS_FD UNSET -- /bin/bash -c CMD``
(standard library only: it must start fast and must not import ikigai).
UNSET is a comma-separated list of variables to remove before starting the
shell: Python's locale coercion (PEP 538) adds ``LC_CTYPE`` to the
supervisor's environment when it starts under the C locale, and the command
must get exactly the environment ikigai chose.

A process group is not enough to find what a command started: ``setsid``,
``nohup ... &`` plus ``disown``, or a double fork leave the group, and an
orphan is adopted by init. So the supervisor marks itself a *child
subreaper* (``PR_SET_CHILD_SUBREAPER``): every orphan among its descendants is
re-parented to it instead of init, which keeps the whole tree of the call
below it, whatever session or group a process moved to. When the shell exits,
or ikigai sends SIGTERM (timeout, cancellation), or ikigai dies
(``PR_SET_PDEATHSIG``), the supervisor walks that tree in ``/proc``, sends
SIGTERM (and SIGCONT, for stopped processes), waits up to GRACE seconds,
SIGKILLs what is left, and repeats until it has no children at all. Then it
writes the shell's status (``exit N`` or ``signal N``) to STATUS_FD and
exits 0.

Doing this in a separate process rather than in ikigai itself keeps each
call's processes apart from any other's and from ikigai's own children, and
lets the sweep reap with ``waitpid(-1)``, which in ikigai would steal exit
statuses from asyncio.

What it cannot catch: a process started on the command's behalf by a daemon
outside the tree (``systemd-run``, ``at``, ``cron``, ``docker run -d``, an
already running ``tmux`` server, ``ssh localhost``), and processes left
behind when the command kills this supervisor itself (``kill -9 $PPID``;
ikigai then still SIGKILLs the call's process group and says so).

Linux only (``/proc``, ``prctl``); ``bash.py`` falls back to killing the
process group elsewhere. ``PR_SET_PDEATHSIG`` fires when the *thread* that
started the supervisor exits; ikigai starts it from its event loop, which
lives as long as the process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

POLL_SECONDS = 0.02
KILL_WAIT_SECONDS = 5.0
"""How long SIGKILLed processes get to disappear (one stuck in the kernel may never)."""

_DEFAULT_SIGNALS = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGPIPE,
    signal.SIGXFSZ,
    signal.SIGQUIT,
)


class _Stop(Exception):
    """Raised by the SIGTERM handler: stop the command now."""


_stopping = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Interrupt the wait for the shell, once; later signals must not break the sweep."""
    global _stopping
    if not _stopping:
        _stopping = True
        raise _Stop


def _prctl(option: int, value: int) -> bool:
    # The interpreter's own symbols include libc's: no ctypes.util (it costs 15 ms).
    libc = ctypes.CDLL(None, use_errno=True)
    result: int = libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0)
    return result == 0


def _stat(pid: str) -> tuple[int, str, str] | None:
    """``(ppid, state, start time)`` of process ``pid``, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return None
    return int(fields[1]), fields[0], fields[19]


def descendants(root: int) -> dict[int, str]:
    """Live (not zombie) processes below ``root``: pid -> start time."""
    children: dict[int, list[tuple[int, str, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(entry)
        if stat is not None:
            ppid, state, start = stat
            children.setdefault(ppid, []).append((int(entry), state, start))
    found: dict[int, str] = {}
    pending = [root]
    while pending:
        for pid, state, start in children.get(pending.pop(), ()):
            if pid not in found:
                pending.append(pid)
                if state not in ("Z", "X"):
                    found[pid] = start
    return found


def _send(pid: int, start: str, signum: int) -> None:
    """Signal ``pid`` only if it is still the process seen in the scan (same start time)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfd on this kernel: check, then signal by pid
        stat = _stat(str(pid))
        if stat is not None and stat[2] == start:
            try:  # noqa: SIM105 (no contextlib: start-up time)
                os.kill(pid, signum)
            except OSError:
                pass
        return
    try:
        stat = _stat(str(pid))
        if stat is not None and stat[2] == start:
            signal.pidfd_send_signal(handle, signum)
    except OSError:
        pass
    finally:
        os.close(handle)


def _reap() -> bool:
    """Collect every exited child; False once there are no children at all."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def sweep(grace: float) -> int:
    """Terminate every descendant (SIGTERM, then SIGKILL after ``grace`` s); survivors count."""
    me = os.getpid()
    targets = descendants(me)
    for pid, start in targets.items():
        _send(pid, start, signal.SIGTERM)
        _send(pid, start, signal.SIGCONT)
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        _reap()
        targets = descendants(me)
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while time.monotonic() < deadline:
        targets = descendants(me)
        for pid, start in targets.items():
            _send(pid, start, signal.SIGKILL)
        if not _reap() and not targets:
            return 0
        time.sleep(POLL_SECONDS)
    return len(descendants(me))


def _status_text(status: int | None, survivors: int) -> str:
    if status is None:
        text = "stopped"
    elif os.WIFSIGNALED(status):
        text = f"signal {os.WTERMSIG(status)}"
    else:
        text = f"exit {os.waitstatus_to_exitcode(status)}"
    return f"{text} survivors {survivors}"


def main(argv: list[str]) -> int:
    """Run the command in ``argv`` (see the module doc) and sweep its processes."""
    parent, grace, status_fd = int(argv[1]), float(argv[2]), int(argv[3])
    environment = dict(os.environ)
    for name in filter(None, argv[4].split(",")):
        environment.pop(name, None)
    command = argv[6:]
    os.set_inheritable(status_fd, False)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _on_signal)
    status: int | None = None
    try:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            raise _Stop  # ikigai died before PDEATHSIG was armed
        try:
            pid = os.posix_spawn(
                command[0], command, environment, setsigdef=_DEFAULT_SIGNALS, setsigmask=()
            )
        except OSError as error:
            os.write(status_fd, f"error {error}".encode())
            return 0
        _, status = os.waitpid(pid, 0)
    except _Stop:
        pass
    global _stopping
    _stopping = True
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    survivors = sweep(grace)
    try:  # noqa: SIM105 (no contextlib: start-up time)
        os.write(status_fd, _status_text(status, survivors).encode())
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
