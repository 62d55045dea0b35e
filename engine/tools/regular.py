"""Opening files for the file tools without ever blocking on something that is not a file.

Opening a FIFO for reading blocks until a writer appears (forever, in a
working directory nobody writes to), and opening a device may block or have
side effects. So a path is first ``stat``-ed and refused unless it is a
regular file; it is then opened with ``O_NONBLOCK`` (a FIFO swapped in
between cannot block the open), ``O_NOFOLLOW`` (the path is already fully
resolved, so a symlink appearing there is a swap too) and ``O_NOCTTY``, and
``fstat`` on the open descriptor makes the final decision. Only then is
``O_NONBLOCK`` cleared for ordinary reads and writes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from ikigai.engine.tools.base import ToolError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words, for messages."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _refuse(shown: str, mode: int, tool: str) -> ToolError:
    return ToolError(
        f"{shown!r} is {kind_of(mode)}, not a regular file; {tool} only works on files"
    )


def check_regular(path: Path, shown: str, tool: str) -> os.stat_result | None:
    """The ``stat`` of ``path`` if it is a regular file, ``None`` if it does not exist.

    Raises ``ToolError`` for anything else (FIFO, device, socket, directory).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ToolError(f"cannot access {shown!r}: {error.strerror or error}") from error
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(shown, info.st_mode, tool)
    return info


def open_regular(
    path: Path, shown: str, tool: str, flags: int = os.O_RDONLY, mode: int = 0o666
) -> int:
    """Open ``path`` with ``flags`` only if it is a regular file; returns a blocking descriptor.

    ``flags`` may include ``O_CREAT``. Raises ``ToolError`` for a missing
    file (without ``O_CREAT``), a non-regular file, or a path swapped for a
    symlink.
    """
    all_flags = flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, all_flags, mode)
    except FileNotFoundError as error:
        raise ToolError(f"file {shown!r} does not exist") from error
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ToolError(f"{shown!r} was replaced by a symlink while being opened") from error
        if error.errno == errno.ENXIO:  # a FIFO without a reader, opened for writing
            raise ToolError(f"{shown!r} is {kind_of(stat.S_IFIFO)}, not a regular file") from error
        raise ToolError(f"cannot open {shown!r}: {error.strerror or error}") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(shown, info.st_mode, tool)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def refuse_hard_links(fd: int, shown: str, tool: str) -> None:
    """Refuse to change a file that has other names: one of them may be outside the roots.

    Confinement checks the path the model gave; a hard link makes the same
    inode reachable from a path it never checked (``ln /etc/x ./x`` by a
    command, or a checkout made with ``cp -al``).
    """
    links = os.fstat(fd).st_nlink
    if links > 1:
        raise ToolError(
            f"{shown!r} has {links} hard links, so writing it would also change the same "
            f"file under its other names, which may be outside the allowed directories; "
            f"{tool} refuses. Copy it to a new file first if you mean to change only this name"
        )
