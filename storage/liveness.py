"""Tokens naming a running process, to tell a live stream from one left by a crash.

A token is ``host:pid:start`` where ``start`` is the process start time from
``/proc`` (empty where unavailable), so a recycled pid is not mistaken for the
original writer. A process on another host cannot be checked and counts as gone.
"""

from __future__ import annotations

import os
import socket
from functools import cache


@cache
def current_process_token() -> str:
    """The token of this process (cached: it cannot change while we run)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def process_is_alive(token: str) -> bool:
    """Whether the process named by ``token`` still runs on this host."""
    try:
        host, pid_text, start = token.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _is_zombie(pid):
        return False
    return not start or _start_time(pid) in (None, start)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    return text[text.rfind(")") + 2 :].split()


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and len(fields) > 0 and fields[0] in ("Z", "X")
