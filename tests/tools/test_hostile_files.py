"""Files that are not what they seem: FIFOs, devices, sockets, lines of hundreds of MB.

A FIFO in the working directory used to hang ``file_read`` (and
``file_write``, ``file_edit``) forever; a device was read or written like a
file; a 400 MB line was read whole. Calls are bounded by ``wait_for`` only
so that a regression fails instead of hanging the run; the fixture unblocks
any open() left waiting on the FIFO.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.tools import ToolContext, ToolResult
from tests.tools.helpers import call, run_in_child

HANG_GUARD_SECONDS = 30


def _release(path: Path) -> None:
    """Open the FIFO both ways without blocking, releasing an open() stuck on it."""
    for flags in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
        try:
            fd = os.open(path, flags)
        except OSError:
            continue
        os.close(fd)


async def bounded(name: str, context: ToolContext, **arguments: Any) -> ToolResult:
    """The call's result; a call still blocked after the guard fails the test.

    The FIFOs of the working directory are then released, so that the thread
    stuck in open() ends and the event loop can close.
    """
    try:
        return await asyncio.wait_for(call(name, context, **arguments), HANG_GUARD_SECONDS)
    except TimeoutError:
        fifos = [path for path in context.cwd.iterdir() if path.is_fifo()]
        threading.Thread(target=_keep_releasing, args=(fifos,), daemon=True).start()
        raise AssertionError(f"{name} {arguments} blocked") from None


def _keep_releasing(fifos: list[Path]) -> None:
    """Release the FIFOs for a while: a blocked tool may open them more than once."""
    for _ in range(200):
        for path in fifos:
            _release(path)
        time.sleep(0.05)


@pytest.fixture
def fifo(workdir: Path) -> Iterator[Path]:
    path = workdir / "pipe"
    os.mkfifo(path)
    yield path
    _release(path)


async def test_file_read_refuses_a_fifo_without_blocking(context: ToolContext, fifo: Path) -> None:
    result = await bounded("file_read", context, path="pipe")
    assert not result.ok
    assert "'pipe' is a named pipe (FIFO), not a regular file" in result.output


async def test_file_write_and_edit_refuse_a_fifo(context: ToolContext, fifo: Path) -> None:
    written = await bounded("file_write", context, path="pipe", content="data")
    assert not written.ok
    assert "named pipe (FIFO)" in written.output
    edited = await bounded("file_edit", context, path="pipe", old_string="a", new_string="b")
    assert not edited.ok
    assert "named pipe (FIFO)" in edited.output


async def test_grep_and_glob_never_open_a_fifo(
    context: ToolContext, workdir: Path, fifo: Path
) -> None:
    (workdir / "a.txt").write_text("hello\n")
    grep = await bounded("grep", context, regex="hello")
    assert grep.output == "a.txt:1: hello"
    glob = await bounded("glob", context, pattern="*")
    assert glob.output == "a.txt"
    direct = await bounded("grep", context, regex="hello", path="pipe")
    assert not direct.ok
    assert "'pipe' is a named pipe (FIFO); grep searches files and directories" in direct.output


async def test_devices_are_refused(workdir: Path) -> None:
    context = ToolContext(cwd=workdir, extra_roots=(Path("/dev"),))
    read = await bounded("file_read", context, path="/dev/zero")
    assert not read.ok
    assert "'/dev/zero' is a character device, not a regular file" in read.output
    written = await bounded("file_write", context, path="/dev/null", content="x")
    assert not written.ok
    assert "'/dev/null' is a character device" in written.output
    edited = await bounded("file_edit", context, path="/dev/zero", old_string="a", new_string="b")
    assert not edited.ok
    assert "character device" in edited.output
    grep = await bounded("grep", context, regex="x", path="/dev/zero")
    assert not grep.ok
    assert "character device" in grep.output


async def test_sockets_are_refused(context: ToolContext, workdir: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(workdir / "sock"))
        read = await bounded("file_read", context, path="sock")
        written = await bounded("file_write", context, path="sock", content="x")
    assert not read.ok
    assert "'sock' is a socket, not a regular file" in read.output
    assert not written.ok
    assert "'sock' is a socket" in written.output


async def test_long_lines_say_how_long_they_were(context: ToolContext, workdir: Path) -> None:
    (workdir / "long.txt").write_text("x" * 10_000 + "\n" + "y" * 3000 + "\nnext\n")
    result = await call("file_read", context, path="long.txt")
    assert result.ok
    assert result.output.splitlines() == [
        "     1\t" + "x" * 2000 + " [line shortened: 10,000 bytes in all]",
        "     2\t" + "y" * 2000 + " [line shortened: 3,000 bytes in all]",
        "     3\tnext",
    ]


LINE_BYTES = 400_000_000
MEMORY_BOUND_KIB = 64 * 1024


@pytest.fixture
def huge_line(workdir: Path) -> Path:
    """A 400 MB file that is one line: 8 KiB of text, then a hole (zeros, no disk used)."""
    path = workdir / "huge.txt"
    with path.open("wb") as handle:
        handle.write(b"a" * 8192)
        handle.truncate(LINE_BYTES)
    return path


def test_file_read_of_a_400_mb_line_stays_small(workdir: Path, huge_line: Path) -> None:
    outcome = run_in_child("file_read", workdir, path="huge.txt")
    assert outcome["ok"], outcome["output"]
    assert (
        outcome["output"] == "     1\t" + "a" * 2000 + " [line shortened: 400,000,000 bytes in all]"
    )
    grew = outcome["peak"] - outcome["before"]
    assert grew < MEMORY_BOUND_KIB, f"peak memory grew by {grew:,} KiB"


def test_grep_over_a_400_mb_line_stays_small(workdir: Path, huge_line: Path) -> None:
    outcome = run_in_child("grep", workdir, regex="aaa")
    assert outcome["ok"], outcome["output"]
    lines = outcome["output"].splitlines()
    assert lines[0] == "huge.txt:1: " + "a" * 500 + " [line shortened: 400,000,000 bytes in all]"
    assert lines[1] == (
        "[1 line longer than 1,048,576 bytes searched in their first 1,048,576 bytes only]"
    )
    grew = outcome["peak"] - outcome["before"]
    assert grew < MEMORY_BOUND_KIB, f"peak memory grew by {grew:,} KiB"
