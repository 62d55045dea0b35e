"""Running the real ``ikigai`` command in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment without the developer's keys or config, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("IKIGAI_") and not name.endswith("_API_KEY")
    }
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text("[providers.openai-chat]\nmax_retries = 1\n", encoding="utf-8")
    env["IKIGAI_CONFIG"] = str(config)
    env["IKIGAI_DB"] = str(tmp_path / "ikigai.db")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config-home")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_ikigai(
    args: list[str],
    env: dict[str, str],
    *,
    stdin: bytes | None = None,
    timeout: float = 60,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[bytes]:
    """``ikigai ARGS`` with stdin from ``stdin`` (a closed pipe when None)."""
    return subprocess.run(
        [sys.executable, "-m", "ikigai", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )


def start_ikigai(
    args: list[str], env: dict[str, str], *, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """``ikigai ARGS`` running in the background, stdout and stderr piped, no stdin, and
    Ctrl+C's signal handled as in a terminal's foreground program."""
    return subprocess.Popen(
        [sys.executable, "-m", "ikigai", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    """SIGINT at its default in the child: a suite started as a background job inherits
    it ignored (the shell's rule for ``&``), and Python keeps an ignored SIGINT ignored,
    as a program started with ``&`` should."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_at_least(process: subprocess.Popen[bytes], size: int, seconds: float = 30) -> bytes:
    """What ``process`` wrote on stdout once it is ``size`` bytes (or stdout ended)."""
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    streamed = b""
    while len(streamed) < size and time.monotonic() < deadline:
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        streamed += chunk
    return streamed


def run_on_terminal(
    args: list[str],
    env: dict[str, str],
    *,
    timeout: float = 60,
    cwd: Path = ROOT,
    stream: Literal["stdout", "stderr"] = "stdout",
) -> tuple[int, bytes, bytes]:
    """``ikigai ARGS`` with ``stream`` on a pseudo-terminal: (status, what the terminal
    showed, what the other stream wrote to its pipe).

    The terminal is read while the command runs, so a long output cannot fill it
    and block the command.
    """
    controller, terminal = pty.openpty()
    shown = bytearray()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ikigai", *args],
            stdin=subprocess.DEVNULL,
            stdout=terminal if stream == "stdout" else subprocess.PIPE,
            stderr=terminal if stream == "stderr" else subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
        os.close(terminal)
        terminal = -1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(controller, 65536)
            except OSError:  # the command exited and everything it wrote was read
                break
            if not data:
                break
            shown.extend(data)
        try:
            piped = process.communicate(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    return process.returncode, bytes(shown), piped[1] if stream == "stdout" else piped[0]
