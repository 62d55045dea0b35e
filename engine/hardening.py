"""Process hardening: the API keys ikigai holds stay out of reach of the commands it runs.

The ``bash`` tool runs model-written commands as the user. Scrubbing their
environment is not enough: on Linux any process of the same user may read
``/proc/<ikigai pid>/environ`` (the environment ikigai was started with, keys
included), ``/proc/<pid>/mem`` or attach with ``ptrace``. ``protect_process``
closes that door for the ikigai process, once, at start-up:

- ``prctl(PR_SET_DUMPABLE, 0)``: the kernel then treats the process like a
  set-uid program. Its ``/proc/<pid>/`` entries belong to root and
  ``environ``, ``mem``, ``maps``, ``fd``... refuse other processes of the
  same user (``ptrace_may_access`` fails); ``ptrace`` attach fails; no core
  dump is written. The process itself still reads its own entries, and
  ``/proc/<pid>/stat`` stays world-readable (``storage.liveness`` reads other
  processes' start times there). ``cmdline`` stays world-readable too: ikigai
  never takes a key on its command line.
- For a process running as root, being non-dumpable is no barrier: root's
  ``CAP_SYS_PTRACE`` overrides it. So the capabilities that read another
  process's memory or the kernel's are dropped from the bounding and
  inheritable sets (``PR_CAPBSET_DROP``, ``capset``): ikigai keeps them for
  itself, but nothing it starts can have them, not even a set-uid program.
  That is what Docker's default profile withholds as well. It narrows, not
  closes, what root can do (a root command can still ask a root daemon such as
  systemd to run something with every capability).

Children start dumpable again (``execve`` resets the flag), so tools behave as
usual. Elsewhere than Linux this module does nothing and says so: there is no
``/proc/<pid>/environ`` there, but ``ps -E``-style readers of another
process's environment are the operating system's business.

Hand-written with ``ctypes`` because the standard library exposes neither
``prctl`` nor ``capset``, and a dependency for six system calls is not worth it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass
from functools import cache

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

DROPPED_CAPABILITIES: dict[int, str] = {
    16: "CAP_SYS_MODULE",  # load a kernel module: read anything
    17: "CAP_SYS_RAWIO",  # /dev/mem, /proc/kcore
    19: "CAP_SYS_PTRACE",  # overrides non-dumpable: /proc/<pid>/mem, environ, ptrace
    21: "CAP_SYS_ADMIN",  # BPF and perf before CAP_BPF/CAP_PERFMON, map_files, ...
    38: "CAP_PERFMON",  # perf events sampling other processes
    39: "CAP_BPF",  # bpf_probe_read_user
    40: "CAP_CHECKPOINT_RESTORE",  # /proc/<pid>/map_files
}
"""Capabilities no process started by ikigai may hold (number -> name)."""


@dataclass(frozen=True, slots=True)
class Protection:
    """What ``protect_process`` achieved, for a diagnostic line or a test."""

    supported: bool
    """False off Linux, where nothing was done."""
    undumpable: bool
    """``/proc/<pid>/environ``, ``mem`` and ``ptrace`` refuse other processes of the user."""
    dropped: tuple[str, ...] = ()
    """Capabilities removed from what children can ever hold."""
    problems: tuple[str, ...] = ()
    """Steps that failed, in words."""

    def describe(self) -> str:
        """One line saying what is in force."""
        if not self.supported:
            return f"process hardening: not available on {sys.platform}"
        parts = ["not dumpable" if self.undumpable else "still dumpable"]
        if self.dropped:
            parts.append("children cannot hold " + ", ".join(self.dropped))
        parts.extend(self.problems)
        return "process hardening: " + "; ".join(parts)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _libc() -> ctypes.CDLL:
    """The C library: the interpreter's own symbols include it.

    (``ctypes.util.find_library`` would cost ~15 ms of start-up: it imports
    ``subprocess``.)
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "prctl"):
        from ctypes.util import find_library

        libc = ctypes.CDLL(find_library("c"), use_errno=True)
    return libc


def _prctl(libc: ctypes.CDLL, option: int, argument: int) -> int:
    result: int = libc.prctl(option, ctypes.c_ulong(argument), 0, 0, 0)
    return result


def _errno_text() -> str:
    return os.strerror(ctypes.get_errno())


def _drop_capabilities(libc: ctypes.CDLL) -> tuple[list[str], list[str]]:
    """Remove ``DROPPED_CAPABILITIES`` from the bounding and inheritable sets."""
    dropped: list[str] = []
    problems: list[str] = []
    for number, name in DROPPED_CAPABILITIES.items():
        if _prctl(libc, PR_CAPBSET_READ, number) != 1:
            continue  # unknown to this kernel, or already gone
        if _prctl(libc, PR_CAPBSET_DROP, number) == 0:
            dropped.append(name)
        elif ctypes.get_errno() != 1:  # EPERM: no CAP_SETPCAP, so no capabilities to lose
            problems.append(f"could not drop {name}: {_errno_text()}")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        problems.append(f"capget failed: {_errno_text()}")
        return dropped, problems
    changed = False
    for number in DROPPED_CAPABILITIES:
        word, bit = divmod(number, 32)
        if data[word].inheritable & (1 << bit):
            data[word].inheritable &= ~(1 << bit)
            changed = True
    if changed and libc.capset(ctypes.byref(header), data) != 0:
        problems.append(f"could not clear inheritable capabilities: {_errno_text()}")
    return dropped, problems


@cache
def protect_process() -> Protection:
    """Make this process's memory and environment unreadable to the commands it runs.

    Call once, first thing in ``main()``; later calls return the first result.
    Never raises: a step that fails is reported in ``Protection.problems``.
    """
    if not sys.platform.startswith("linux"):
        return Protection(supported=False, undumpable=False)
    try:
        libc = _libc()
    except OSError as error:
        return Protection(supported=True, undumpable=False, problems=(f"no libc: {error}",))
    problems: list[str] = []
    if _prctl(libc, PR_SET_DUMPABLE, 0) != 0:
        problems.append(f"PR_SET_DUMPABLE failed: {_errno_text()}")
    undumpable = _prctl(libc, PR_GET_DUMPABLE, 0) == 0
    dropped, cap_problems = _drop_capabilities(libc)
    problems.extend(cap_problems)
    return Protection(
        supported=True, undumpable=undumpable, dropped=tuple(dropped), problems=tuple(problems)
    )
