"""Fixtures for the MCP tests: the real demo server (stdio and HTTP) and a manager.

Every server here is ``tests/mcp/demo_server.py``, a real MCP server built with
the same SDK; the protocol is never mocked. A pid file records each process
the server started, so a test can check that none is left behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.events import Notice
from ikigai.engine.mcp.manager import McpManager
from ikigai.engine.settings import McpServerSettings, McpSettings

DEMO = Path(__file__).with_name("demo_server.py")
SECRETS = frozenset({"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"})


def stdio_settings(*args: str, **options: Any) -> McpServerSettings:
    """A stdio demo server started with ``args``; ``options`` are other settings."""
    return McpServerSettings(command=sys.executable, args=(str(DEMO), *args), **options)


def toml_server(name: str, *args: str, extra: str = "") -> str:
    """The ``[mcp.servers.NAME]`` table of a stdio demo server, for a config file."""
    listed = ", ".join(f'"{a}"' for a in (str(DEMO), *args))
    return f'[mcp.servers.{name}]\ncommand = "{sys.executable}"\nargs = [{listed}]\n{extra}\n'


def pids(pid_file: Path) -> list[int]:
    """Every pid the demo server recorded in ``pid_file``."""
    if not pid_file.exists():
        return []
    return [int(line) for line in pid_file.read_text().split()]


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    """Wait until ``pid`` is gone; False when it still runs after ``seconds``."""
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Let the event loop run until ``condition()`` holds (fails after ``seconds``)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {condition}")


class Managers:
    """Makes ``McpManager`` objects over the demo server and closes them after the test."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.notices: list[Notice] = []
        self.made: list[McpManager] = []

    def __call__(self, output_cap: int = 64 * 1024, **servers: McpServerSettings) -> McpManager:
        manager = McpManager(
            McpSettings(servers=servers),
            cwd=self.cwd,
            secret_names=SECRETS,
            notify=self.notices.append,
            output_cap=output_cap,
        )
        self.made.append(manager)
        return manager

    def texts(self) -> list[str]:
        return [notice.text for notice in self.notices]


@pytest.fixture
async def managers(tmp_path: Path) -> AsyncIterator[Managers]:
    made = Managers(tmp_path)
    try:
        yield made
    finally:
        for manager in made.made:
            await manager.close()


@pytest.fixture
def pid_file(tmp_path: Path) -> Path:
    return tmp_path / "pids.txt"


@pytest.fixture
def http_demo(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Starts demo servers over streamable HTTP on loopback; returns their URLs."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> str:
        port_file = tmp_path / f"port-{len(processes)}.txt"
        process = subprocess.Popen(
            [sys.executable, str(DEMO), "--http", str(port_file), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the HTTP demo server did not start: {process.stderr}")
            time.sleep(0.05)
        port = int(port_file.read_text())
        while True:  # the port is written just before uvicorn starts serving
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the HTTP demo server does not accept connections")
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}/mcp"

    try:
        yield start
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
