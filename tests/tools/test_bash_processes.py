"""No process started by a bash call outlives it: real processes, checked by pid.

Each command starts a long ``sleep`` in one of the ways a process can try to
escape (background job, new session, nohup, double fork, ignoring SIGTERM)
and writes its pid to a file. Once the call has returned (or raised, for a
cancellation) that pid must be gone: the supervisor reaps everything before
it reports, so no waiting is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext, bash
from tests.tools.helpers import alive, call

ESCAPES = {
    "background": "sleep 1000 > /dev/null 2>&1 & echo $! > pid.txt",
    "background-holding-stdout": "sleep 1000 & echo $! > pid.txt",
    "setsid": "setsid sleep 1000 > /dev/null 2>&1 & echo $! > pid.txt",
    "subshell-setsid": "(setsid sleep 1000 > /dev/null 2>&1 & echo $! > pid.txt)",
    "nohup-disown": "nohup sleep 1000 > /dev/null 2>&1 & echo $! > pid.txt; disown",
    "double-fork": "( ( exec sleep 1000 > /dev/null 2>&1 ) & echo $! > pid.txt ) & wait",
    "ignores-sigterm": (
        "setsid bash -c 'trap \"\" TERM HUP; echo $$ > pid.txt; exec sleep 1000' "
        "> /dev/null 2>&1 & while [ ! -s pid.txt ]; do sleep 0.01; done"
    ),
}


@pytest.fixture
def pids(workdir: Path) -> Iterator[list[int]]:
    """Pids the test read; whatever survives is killed afterwards, pass or fail."""
    found: list[int] = []
    yield found
    for pid in found:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _pid(workdir: Path, pids: list[int]) -> int:
    pid = int((workdir / "pid.txt").read_text())
    pids.append(pid)
    return pid


async def _pid_appears(workdir: Path) -> None:
    path = workdir / "pid.txt"
    for _ in range(3000):
        if path.exists() and path.read_text().strip():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the command never wrote its pid")


@pytest.mark.parametrize("command", ESCAPES.values(), ids=ESCAPES.keys())
async def test_processes_left_behind_are_killed_when_the_call_ends(
    command: str,
    context: ToolContext,
    workdir: Path,
    pids: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bash, "KILL_GRACE_SECONDS", 0.3)
    result = await call("bash", context, command=command)
    pid = _pid(workdir, pids)
    assert result.ok, result.output
    assert result.output.endswith("[exit status: 0]")
    assert not alive(pid), f"{pid} survived the call"


@pytest.mark.parametrize("name", ["setsid", "double-fork", "ignores-sigterm"])
async def test_processes_left_behind_are_killed_on_timeout(
    name: str,
    context: ToolContext,
    workdir: Path,
    pids: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bash, "KILL_GRACE_SECONDS", 0.3)
    command = ESCAPES[name] + "; sleep 1000"
    result = await call("bash", context, command=command, timeout=0.5)
    pid = _pid(workdir, pids)
    assert not result.ok
    assert "timed out after 0.5 s" in result.output
    assert not alive(pid), f"{pid} survived the timeout"


@pytest.mark.parametrize("name", ["setsid", "double-fork", "ignores-sigterm"])
async def test_processes_left_behind_are_killed_on_cancellation(
    name: str,
    context: ToolContext,
    workdir: Path,
    pids: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bash, "KILL_GRACE_SECONDS", 0.3)
    command = ESCAPES[name] + "; sleep 1000"
    task = asyncio.create_task(call("bash", context, command=command, timeout=60))
    await _pid_appears(workdir)
    pid = _pid(workdir, pids)
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not alive(pid), f"{pid} survived the cancellation"


async def test_exit_status_and_signals_come_through_the_supervisor(context: ToolContext) -> None:
    assert (await call("bash", context, command="exit 7")).output.endswith("[exit status: 7]")
    killed = await call("bash", context, command="echo before; kill -KILL $$")
    assert not killed.ok
    assert killed.output == "before\n[killed by SIGKILL]"


async def test_a_command_that_kills_its_supervisor_is_still_cleaned_up(
    context: ToolContext, workdir: Path, pids: list[int]
) -> None:
    assert bash.supervised()  # else $PPID would be this test process
    command = "kill -KILL $PPID; sleep 1000 > /dev/null 2>&1 & echo $! > pid.txt"
    result = await call("bash", context, command=command)
    pid = _pid(workdir, pids)
    assert "the call's supervisor was killed" in result.output
    assert not alive(pid), f"{pid} survived the call"


def test_commands_run_supervised_here() -> None:
    # The tests above exercise the supervisor only where it is used.
    assert bash.supervised()
