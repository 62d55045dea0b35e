"""SIGTERM and SIGHUP are handled like Ctrl+C: the partial answer is stored as
interrupted and the exit status is 128 + the signal, in the app and headless."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.app.terminal import Terminal
from tests.cli.headless_helpers import clean_env, read_at_least, start_ikigai
from tests.fakeserver import FakeServer, Reply, Text

ANSWER = "Words that arrive slowly enough to be stopped by a signal. " * 20


def assistant_rows(db: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT content, status FROM messages WHERE kind = 'assistant'"
        ).fetchall()


def chat(server: FakeServer) -> list[str]:
    return ["--model", "openai-chat/fake-model", "--base-url", server.base_url("openai-chat")]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_headless_run_stores_the_partial_answer(
    fake_server: FakeServer, tmp_path: Path, signum: int, status: int
) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    fake_server.enqueue(Reply([Text(ANSWER, chunk=4)], event_delay=0.02))
    process = start_ikigai(["-p", "go", *chat(fake_server)], env)
    read_at_least(process, 60)  # the answer has begun
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == status
    assert b"Traceback" not in stderr
    assert signal.Signals(signum).name.encode() in stderr
    [(content, state)] = assistant_rows(Path(env["IKIGAI_DB"]))
    assert state == "interrupted"
    assert isinstance(content, str) and content and ANSWER.startswith(content)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_the_app_stores_the_partial_answer(
    fake_server: FakeServer, tmp_path: Path, signum: int, status: int
) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    fake_server.enqueue(Reply([Text(ANSWER, chunk=4)], event_delay=0.05))
    terminal = Terminal(chat(fake_server), env, tmp_path)
    try:
        terminal.read_until(lambda out: b"fake-model" in out)
        terminal.type(b"go\r")
        terminal.read_until(lambda out: b"Words that arrive" in out)
        time.sleep(0.5)
        terminal.process.send_signal(signum)
        terminal.read_until(lambda out: terminal.process.poll() is not None)
    finally:
        code = terminal.close()
    assert code == status, bytes(terminal.output)[-1500:]
    [(content, state)] = assistant_rows(tmp_path / "ikigai.db")
    assert state == "interrupted"
    assert isinstance(content, str) and content and ANSWER.startswith(content)


def test_closing_the_terminal_window_stores_the_partial_answer(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    fake_server.enqueue(Reply([Text(ANSWER, chunk=4)], event_delay=0.05))
    terminal = Terminal(chat(fake_server), env, tmp_path)
    terminal.read_until(lambda out: b"fake-model" in out)
    terminal.type(b"go\r")
    terminal.read_until(lambda out: b"Words that arrive" in out)
    time.sleep(0.5)
    os.close(terminal.controller)  # the window goes away: the kernel sends SIGHUP
    try:
        code = terminal.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        terminal.process.kill()
        raise
    assert code == 129
    [(content, state)] = assistant_rows(tmp_path / "ikigai.db")
    assert state == "interrupted"
    assert isinstance(content, str) and content and ANSWER.startswith(content)


def test_a_terminal_gone_without_a_sighup_is_a_hangup_all_the_same(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """No SIGHUP comes when the terminal is not the session's controlling one: the app
    notices the hang-up itself, stores the partial answer and exits (before, Textual's
    input thread spun on the closed terminal for as long as the process lived)."""
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    fake_server.enqueue(Reply([Text(ANSWER, chunk=4)], event_delay=0.05))
    terminal = Terminal(chat(fake_server), env, tmp_path, controlling=False)
    terminal.read_until(lambda out: b"fake-model" in out)
    terminal.type(b"go\r")
    terminal.read_until(lambda out: b"Words that arrive" in out)
    time.sleep(0.5)
    os.close(terminal.controller)
    try:
        code = terminal.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        terminal.process.kill()
        raise
    assert code == 129
    [(content, state)] = assistant_rows(tmp_path / "ikigai.db")
    assert state == "interrupted"
    assert isinstance(content, str) and content and ANSWER.startswith(content)
