"""The ``bash`` tool: run a shell command in the working directory.

The command runs as ``/bin/bash -c`` in a new session, with an allow-listed
environment (``environment.py``). On Linux it runs under a supervisor
(``reaper.py``), a child subreaper that kills every process the command
started, including ones that left the process group (``setsid``, ``nohup``,
double forks), when the shell exits, times out or is cancelled. Elsewhere
the process group gets the same treatment, which catches everything but
processes that left the group. Signals go in two steps: SIGTERM, then SIGKILL
after a grace period. Output (stdout and stderr interleaved) is read as it
arrives and capped while reading, so memory stays bounded however much the
command prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ikigai.engine.tools import reaper
from ikigai.engine.tools.base import Tool, ToolContext, ToolError, ToolResult
from ikigai.engine.tools.environment import subprocess_env
from ikigai.engine.tools.output import CappedBuffer
from ikigai.engine.tools.specs import BASH as SPEC

KILL_GRACE_SECONDS = 2.0
"""How long the command's processes get to exit after SIGTERM before they are SIGKILLed."""

SUPERVISOR_MARGIN_SECONDS = reaper.KILL_WAIT_SECONDS + 1.0
"""Beyond the grace period, how long the supervisor may take to sweep before ikigai
SIGKILLs the process group itself."""

REAPER_SCRIPT = Path(__file__).with_name("reaper.py")

GROUP_POLL_SECONDS = 0.02

PIPE_CLOSE_SECONDS = 1.0
"""How long to wait for the output pipe to close after SIGKILL before abandoning it."""

_READ_CHUNK = 64 * 1024


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_exists(pgid: int) -> bool:
    """Whether any process is left in group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def supervised() -> bool:
    """Whether commands run under the subreaper supervisor (Linux with ``/proc``)."""
    return (
        sys.platform.startswith("linux")
        and bool(sys.executable)
        and os.path.isdir("/proc/self")
        and REAPER_SCRIPT.is_file()
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How the shell ended, as the supervisor reported it."""

    returncode: int | None
    survivors: int = 0
    error: str | None = None
    reported: bool = True


def _read_report(fd: int) -> str:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 4096).decode("utf-8", "replace")
    except (BlockingIOError, OSError):
        return ""


def _parse_report(text: str, fallback: int | None) -> _Outcome:
    """Decode ``exit N survivors S`` / ``signal N ...`` / ``stopped ...`` / ``error MSG``."""
    words = text.split()
    if words[:1] == ["error"]:
        return _Outcome(None, error=text[len("error ") :])
    if len(words) != 4 or words[2] != "survivors":
        return _Outcome(fallback, reported=False)
    survivors = int(words[3])
    if words[0] == "exit":
        return _Outcome(int(words[1]), survivors)
    if words[0] == "signal":
        return _Outcome(-int(words[1]), survivors)
    return _Outcome(None, survivors)


async def _stop(process: asyncio.subprocess.Process, buffer: CappedBuffer, grace: float) -> None:
    """SIGTERM the command's process group, then SIGKILL whatever is left.

    The group gets ``grace`` seconds to exit and close its output (the
    supervisor sweeps processes outside the group in that time); SIGKILL
    follows in any case, for members that ignore SIGTERM or have detached
    from the pipe.
    """
    pgid = process.pid
    _signal_group(pgid, signal.SIGTERM)
    try:
        async with asyncio.timeout(grace):
            await _settle(process, buffer, grace)
            await _group_gone(pgid)
    except TimeoutError:
        pass
    _signal_group(pgid, signal.SIGKILL)
    settled = await _settle(process, buffer, PIPE_CLOSE_SECONDS)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(PIPE_CLOSE_SECONDS):
            await _group_gone(pgid)
    if not settled:
        _abandon_pipe(process)


async def _group_gone(pgid: int) -> None:
    """Return once no process (not even an unreaped zombie) is left in group ``pgid``.

    Polled: the kernel signals nothing when a process group empties.
    """
    while _group_exists(pgid):  # noqa: ASYNC110
        await asyncio.sleep(GROUP_POLL_SECONDS)


async def _spawn(
    command: str, context: ToolContext, status_fd: int | None
) -> asyncio.subprocess.Process:
    env = subprocess_env(context)
    if status_fd is None:
        argv = ["/bin/bash", "-c", command]
        fds: tuple[int, ...] = ()
    else:
        argv = [
            sys.executable,
            "-I",
            "-S",
            str(REAPER_SCRIPT),
            str(os.getpid()),
            repr(KILL_GRACE_SECONDS),
            str(status_fd),
            "" if "LC_CTYPE" in env else "LC_CTYPE",
            "--",
            "/bin/bash",
            "-c",
            command,
        ]
        fds = (status_fd,)
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=context.cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            pass_fds=fds,
        )
    except OSError as error:
        raise ToolError(f"could not start /bin/bash in {context.cwd}: {error}") from error


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


def _notes(outcome: _Outcome) -> str:
    notes = ""
    if not outcome.reported:
        notes += (
            "\n[the call's supervisor was killed: processes that left the process group "
            "may still be running]"
        )
    if outcome.survivors:
        notes += f"\n[{outcome.survivors} processes could not be killed]"
    return notes


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
    """Run ``arguments['command']``; ``ok`` is true only when it exits with status 0.

    Whatever happens (exit, timeout, cancellation), every process the command
    started is gone when this returns or raises; see the module doc for the
    exceptions.
    """
    command: str = arguments["command"]
    timeout = _timeout_argument(arguments, context)
    report_r, report_w = os.pipe() if supervised() else (None, None)
    try:
        try:
            process = await _spawn(command, context, report_w)
        finally:
            if report_w is not None:
                os.close(report_w)
        buffer = CappedBuffer(context.output_cap)
        finished = False
        grace = KILL_GRACE_SECONDS + (SUPERVISOR_MARGIN_SECONDS if report_r is not None else 0)
        try:
            async with asyncio.timeout(timeout):
                await _drain(process, buffer)
                await process.wait()
            finished = True
        except TimeoutError:
            pass
        finally:
            # Timed out or cancelled: stop everything. Finished: the supervisor has
            # swept already; without one (or if the command killed it) members of
            # the group may still run.
            if not finished or _group_exists(process.pid):
                await _stop(process, buffer, grace)
        report = _read_report(report_r) if report_r is not None else ""
    finally:
        if report_r is not None:
            os.close(report_r)
    if report_r is None:
        outcome = _Outcome(process.returncode)
    else:
        outcome = _parse_report(report, process.returncode)
    if outcome.error is not None:
        raise ToolError(f"could not start /bin/bash in {context.cwd}: {outcome.error}")
    if not finished:
        status = (
            f"[timed out after {timeout:g} s: the command and every process it started were killed]"
        )
        return ToolResult(ok=False, output=_format(buffer, status) + _notes(outcome))
    return ToolResult(
        ok=outcome.returncode == 0,
        output=_format(buffer, _status_line(outcome.returncode)) + _notes(outcome),
    )


TOOL = Tool(spec=SPEC, read_only=False, run=run, own_timeout=True)
