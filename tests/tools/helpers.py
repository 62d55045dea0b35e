"""Helpers shared by the tool tests."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ikigai.engine.tools import ToolContext, ToolResult, execute


async def call(name: str, context: ToolContext, **arguments: Any) -> ToolResult:
    """Run a tool through ``execute`` with JSON arguments, as the agent loop does."""
    return await execute(name, json.dumps(arguments), context)


ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def unprivileged_user() -> str | None:
    """The user to run "another, unprivileged user" as: nobody when we are root, else us."""
    return "nobody" if os.geteuid() == 0 else None


def child_env(**extra: str) -> dict[str, str]:
    """A minimal environment for a child interpreter that imports this checkout."""
    site_packages = sysconfig.get_paths()["purelib"]
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(ROOT), site_packages]),
        **extra,
    }


@functools.cache
def python_for(user: str | None) -> str:
    """An interpreter ``user`` can run that imports ikigai with its dependencies.

    The virtualenv's interpreter may live under /root, out of reach of nobody;
    the system interpreter of the same version then runs the same packages.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/{version}", shutil.which(version) or ""]
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import re2, aiosqlite, ikigai.engine.tools.registry"],
                user=user,
                env=child_env(),
                cwd="/",
                capture_output=True,
                timeout=60,
                check=False,
            )
        except OSError:
            continue
        if probe.returncode == 0:
            return candidate
    raise AssertionError(f"no interpreter among {candidates} imports ikigai as {user}")


@contextlib.contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory under /tmp that any user may write (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="ikigai-tools-", dir="/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_in_child(
    name: str, workdir: Path, timeout: float = 120, **arguments: Any
) -> dict[str, Any]:
    """Run one tool call in a fresh interpreter (``tests/tools/run_tool.py``).

    A call that does not finish within ``timeout`` seconds fails the test
    instead of hanging it (the child is killed).
    """
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.tools.run_tool",
                name,
                json.dumps(arguments),
                str(workdir),
            ],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"{name} {arguments} did not finish in {timeout:g} s") from expired
    assert completed.returncode == 0, completed.stderr
    outcome: dict[str, Any] = json.loads(completed.stdout)
    return outcome
