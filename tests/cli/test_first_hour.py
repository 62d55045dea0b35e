"""What a new user trips over on the command line: closed pipes, tool activity, flags, help."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.headless_helpers import ROOT, clean_env, run_ikigai
from tests.fakeserver import FakeServer, Reply, Text, ToolCall

LINES = "".join(f"line {n} of a long answer\n" for n in range(400))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")


def chat(server: FakeServer, *more: str) -> list[str]:
    return [
        "--model",
        "openai-chat/fake-model",
        "--base-url",
        server.base_url("openai-chat"),
        *more,
    ]


def piped_into_head(args: list[str], env: dict[str, str], lines: int) -> tuple[int, bytes, bytes]:
    """``ikigai ARGS | head -LINES`` as a shell runs it; returns ikigai's status, head's
    output and ikigai's stderr."""
    ikigai = subprocess.Popen(
        [sys.executable, "-m", "ikigai", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert ikigai.stdout is not None and ikigai.stderr is not None
    head = subprocess.Popen(["head", f"-{lines}"], stdin=ikigai.stdout, stdout=subprocess.PIPE)
    ikigai.stdout.close()  # head holds the only reading end, as in a shell pipeline
    shown, _ = head.communicate(timeout=60)
    stderr = ikigai.stderr.read()
    return ikigai.wait(timeout=60), shown, stderr


@pytest.mark.parametrize(("output", "lines"), [("text", 2), ("jsonl", 3)])
def test_a_closed_pipe_ends_the_output_quietly_and_the_answer_is_stored(
    fake_server: FakeServer, env: dict[str, str], output: str, lines: int
) -> None:
    fake_server.enqueue(Reply([Text(LINES, chunk=7)], event_delay=0.001))
    status, shown, stderr = piped_into_head(
        ["-p", "hi", "--output", output, *chat(fake_server)], env, lines
    )
    assert len(shown.splitlines()) == lines
    assert status == 141
    assert stderr == b"", stderr.decode()
    with sqlite3.connect(env["IKIGAI_DB"]) as conn:
        rows = conn.execute("SELECT content, status FROM messages WHERE kind = 'assistant'")
        assert rows.fetchall() == [(LINES, "complete")]


@pytest.mark.parametrize("command", [["export", "1"], ["export", "1", "--format", "json"]])
def test_export_into_a_closed_pipe_ends_quietly(
    fake_server: FakeServer, env: dict[str, str], command: list[str]
) -> None:
    # Far more than a pipe holds, so the export is still writing when head exits.
    long_answer = LINES * 30
    fake_server.enqueue(Reply([Text(long_answer, chunk=65536)]))
    assert run_ikigai(["-p", "hi", *chat(fake_server)], env).returncode == 0
    status, shown, stderr = piped_into_head(command, env, 2)
    assert len(shown.splitlines()) == 2
    assert (status, stderr) == (141, b"")


@pytest.mark.parametrize("command", [["history"], ["history", "1"], ["export", "1"]])
def test_reading_a_missing_database_creates_none(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "typo.db"
    result = run_ikigai([*command, "--db", str(missing)], clean_env(tmp_path))
    assert result.returncode == 2
    assert (
        result.stderr.decode()
        == f"ikigai: no database at {missing} (nothing has been stored there)\n"
    )
    assert not missing.exists()


def test_text_mode_says_what_each_tool_call_did_on_stderr(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "secret_note.txt").write_text("".join(f"{n}\n" for n in range(12)))
    fake_server.enqueue(
        Reply(
            [
                ToolCall("file_read", {"path": "secret_note.txt"}, id="call_1"),
                ToolCall("bash", {"command": "cat secret_note.txt"}, id="call_2"),
            ]
        ),
        Reply([Text("The note has twelve lines.")]),
    )
    result = run_ikigai(["-p", "read it", *chat(fake_server)], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "The note has twelve lines.\n"
    assert result.stderr.decode().splitlines() == [
        "ikigai: tool file_read secret_note.txt: ok, 12 lines",
        "ikigai: tool bash cat secret_note.txt: denied by policy (use --allow bash)",
    ]


def test_each_response_text_starts_a_line(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("a\n")
    fake_server.enqueue(
        Reply([Text("Let me read it."), ToolCall("file_read", {"path": "notes.txt"})]),
        Reply([Text("It says a.")]),
    )
    result = run_ikigai(["-p", "read notes.txt", *chat(fake_server)], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "Let me read it.\nIt says a.\n"


def test_system_flag_and_no_key_flag(fake_server: FakeServer, tmp_path: Path) -> None:
    env = clean_env(tmp_path)  # no key anywhere, and no config saying none is needed
    fake_server.enqueue(Reply([Text("ok")]))
    result = run_ikigai(
        ["-p", "hi", "--no-key", "--system", "Answer in French.", *chat(fake_server)], env
    )
    assert result.returncode == 0, result.stderr
    request = fake_server.requests[0]
    assert request.json["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert "authorization" not in {name.lower() for name in request.headers}


def test_without_no_key_the_missing_key_is_named(fake_server: FakeServer, tmp_path: Path) -> None:
    result = run_ikigai(["-p", "hi", *chat(fake_server)], clean_env(tmp_path))
    assert result.returncode == 2
    assert b"OPENAI_API_KEY" in result.stderr


def test_history_search_shows_each_conversation_once(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    fake_server.enqueue(
        Reply([Text("zebras are striped; zebras graze")]),
        Reply([Text("more zebras")]),
        Reply([Text("no match here")]),
    )
    assert run_ikigai(["-p", "tell me about zebras", *chat(fake_server)], env).returncode == 0
    assert run_ikigai(["-p", "zebras again", "-c", *chat(fake_server)], env).returncode == 0
    assert run_ikigai(["-p", "something else", *chat(fake_server)], env).returncode == 0
    result = run_ikigai(["history", "--search", "zebras"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("1\t") and "(+3 more)" in lines[0]


@pytest.mark.parametrize("command", [["history", "--help"], ["export", "--help"]])
def test_subcommand_help_is_plain_text(env: dict[str, str], command: list[str]) -> None:
    result = run_ikigai(command, env)
    assert result.returncode == 0
    text = result.stdout.decode()
    assert "``" not in text
    if command[0] == "export":
        assert "md: a readable Markdown document" in text


def test_jsonl_tool_results_stay_on_stdout_only(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("x\n")
    fake_server.enqueue(
        Reply([ToolCall("file_read", {"path": "a.txt"}, id="call_1")]), Reply([Text("done")])
    )
    result = run_ikigai(["-p", "go", "--output", "jsonl", *chat(fake_server)], env, cwd=tmp_path)
    assert result.returncode == 0
    assert b"ikigai: tool" not in result.stderr
    kinds = [json.loads(line)["type"] for line in result.stdout.decode().splitlines()]
    assert "tool_result" in kinds
