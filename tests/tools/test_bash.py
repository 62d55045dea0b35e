"""The bash tool with real subprocesses: output, status, timeout, cap, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext, bash, execute
from tests.tools.helpers import call


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


async def _wait_dead(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not _alive(pid)


async def test_runs_in_working_directory_and_reports_status(
    context: ToolContext, workdir: Path
) -> None:
    result = await call("bash", context, command="pwd; echo to-stderr >&2")
    assert result.ok
    assert str(workdir) in result.output
    assert "to-stderr" in result.output
    assert result.output.endswith("[exit status: 0]")


async def test_nonzero_exit_is_not_ok(context: ToolContext) -> None:
    result = await call("bash", context, command="echo partial; exit 3")
    assert not result.ok
    assert "partial" in result.output
    assert "[exit status: 3]" in result.output


async def test_no_output_is_said(context: ToolContext) -> None:
    result = await call("bash", context, command="true")
    assert result.output == "(no output)\n[exit status: 0]"


async def test_timeout_kills_the_whole_process_group(context: ToolContext, workdir: Path) -> None:
    started = time.monotonic()
    result = await call(
        "bash", context, command="sleep 30 & echo $! > pidfile; echo started; wait", timeout=1
    )
    assert time.monotonic() - started < 5
    assert not result.ok
    assert "timed out after 1 s" in result.output
    assert "started" in result.output
    pid = int((workdir / "pidfile").read_text())
    assert await _wait_dead(pid), f"background sleep {pid} survived the timeout"


async def test_timeout_kills_processes_that_ignore_sigterm(
    context: ToolContext, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bash, "KILL_GRACE_SECONDS", 0.3)
    command = "trap '' TERM; sleep 30 & echo $! > pidfile; wait"
    result = await call("bash", context, command=command, timeout=0.5)
    assert not result.ok
    pid = int((workdir / "pidfile").read_text())
    assert await _wait_dead(pid)


async def test_cancellation_kills_the_process_group(context: ToolContext, workdir: Path) -> None:
    task = asyncio.create_task(
        call("bash", context, command="sleep 30 & echo $! > pidfile; wait", timeout=60)
    )
    pidfile = workdir / "pidfile"
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the cancelled call returned instead of raising")
    assert await _wait_dead(int(pidfile.read_text()))


async def test_megabytes_of_output_are_capped(context: ToolContext) -> None:
    result = await call("bash", context, command="head -c 5242880 /dev/zero | tr '\\0' a")
    assert result.ok
    assert "[output truncated: 5,242,880 bytes, showing the first 65,536]" in result.output
    assert result.output.split("\n")[0] == "a" * 65_536
    assert len(result.output.encode()) < 65_536 + 200


async def test_custom_cap_is_respected(workdir: Path) -> None:
    context = ToolContext(cwd=workdir, output_cap=10, env={"PATH": "/usr/bin:/bin"})
    result = await call("bash", context, command="printf 0123456789abcdef")
    assert result.output.startswith("0123456789\n[output truncated: 16 bytes")


async def test_default_timeout_comes_from_context(workdir: Path) -> None:
    context = ToolContext(cwd=workdir, bash_timeout=0.3, env={"PATH": "/usr/bin:/bin"})
    result = await execute("bash", '{"command": "sleep 5"}', context)
    assert not result.ok
    assert "timed out after 0.3 s" in result.output


async def test_non_positive_timeout_is_refused(context: ToolContext) -> None:
    result = await call("bash", context, command="true", timeout=0)
    assert not result.ok
    assert "timeout must be a positive number" in result.output


async def test_a_process_that_leaves_the_group_cannot_hang_the_call(
    context: ToolContext, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bash, "KILL_GRACE_SECONDS", 0.2)
    monkeypatch.setattr(bash, "PIPE_CLOSE_SECONDS", 0.2)
    started = time.monotonic()
    try:
        result = await call(
            "bash", context, command="setsid sleep 30 & echo $! > pidfile; wait", timeout=0.5
        )
        assert time.monotonic() - started < 3
        assert not result.ok
        assert "timed out" in result.output
    finally:
        pid = int((workdir / "pidfile").read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
