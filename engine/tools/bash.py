"""The ``bash`` tool: run a shell command in the working directory.

The command runs as ``/bin/bash -c`` in a new session, so it and everything it
starts share one process group. On timeout or cancellation the whole group
gets SIGTERM, then SIGKILL after a short grace period, so no background
process outlives the call. Output (stdout and stderr interleaved) is read as
it arrives and capped while reading, so memory stays bounded however much the
command prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.environment import subprocess_env
from ikigai.engine.tools.output import CappedBuffer
from ikigai.engine.tools.specs import BASH as SPEC

KILL_GRACE_SECONDS = 2.0
"""How long the shell gets to exit after SIGTERM before the group is SIGKILLed."""

PIPE_CLOSE_SECONDS = 1.0
"""How long to wait for the output pipe to close after SIGKILL before abandoning it."""

_READ_CHUNK = 64 * 1024


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def _drain(process: asyncio.subprocess.Process, buffer: CappedBuffer) -> None:
    """Read the command's output into ``buffer`` until EOF."""
    assert process.stdout is not None
    while chunk := await process.stdout.read(_READ_CHUNK):
        buffer.add(chunk)


async def _settle(
    process: asyncio.subprocess.Process, buffer: CappedBuffer, seconds: float
) -> bool:
    """Collect output until EOF and the shell's exit, for at most ``seconds``.

    True when both happened. (On Python 3.11 ``Process.wait`` also waits for the
    pipe to close, so EOF comes first.)
    """
    try:
        async with asyncio.timeout(seconds):
            await _drain(process, buffer)
            await process.wait()
    except TimeoutError:
        return False
    return True


def _abandon_pipe(process: asyncio.subprocess.Process) -> None:
    """Close our end of an output pipe still held by a process that left the group.

    asyncio gives no public handle on the transport behind
    ``create_subprocess_exec``; closing it avoids a leaked transport and a
    ``wait`` that never returns.
    """
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


async def _stop(process: asyncio.subprocess.Process, buffer: CappedBuffer) -> None:
    """SIGTERM the command's process group, then SIGKILL whatever is left.

    The group gets up to ``KILL_GRACE_SECONDS`` to exit and close its output;
    SIGKILL follows in any case, for members that ignore SIGTERM or have
    detached from the pipe.
    """
    pgid = process.pid
    _signal_group(pgid, signal.SIGTERM)
    await _settle(process, buffer, KILL_GRACE_SECONDS)
    _signal_group(pgid, signal.SIGKILL)
    if not await _settle(process, buffer, PIPE_CLOSE_SECONDS):
        _abandon_pipe(process)


def _status_line(returncode: int | None) -> str:
    if returncode is None:
        return "[exit status: unknown]"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"[killed by {name}]"
    return f"[exit status: {returncode}]"


def _format(buffer: CappedBuffer, status: str) -> str:
    text = buffer.text()
    body = text if text else "(no output)"
    if not body.endswith("\n"):
        body += "\n"
    return body + status


def _timeout_argument(arguments: dict[str, Any], context: ToolContext) -> float:
    raw = arguments.get("timeout")
    timeout = context.bash_timeout if raw is None else float(raw)
    if timeout <= 0:
        raise ToolError(f"timeout must be a positive number of seconds, got {raw}")
    return timeout


async def run(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Run ``arguments['command']``; ``ok`` is true only when it exits with status 0."""
    command: str = arguments["command"]
    timeout = _timeout_argument(arguments, context)
    try:
        process = await asyncio.create_subprocess_exec(
            "/bin/bash",
            "-c",
            command,
            cwd=context.cwd,
            env=subprocess_env(context),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        raise ToolError(f"could not start /bin/bash in {context.cwd}: {error}") from error
    buffer = CappedBuffer(context.output_cap)
    finished = False
    try:
        async with asyncio.timeout(timeout):
            await _drain(process, buffer)
            await process.wait()
        finished = True
    except TimeoutError:
        pass
    finally:
        if not finished:  # timed out, or the caller cancelled us
            await _stop(process, buffer)
    if not finished:
        status = (
            f"[timed out after {timeout:g} s: the command and every process it started were killed]"
        )
        return ToolResult(ok=False, output=_format(buffer, status))
    return ToolResult(
        ok=process.returncode == 0, output=_format(buffer, _status_line(process.returncode))
    )


TOOL = Tool(spec=SPEC, read_only=False, run=run)
