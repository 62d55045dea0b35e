"""``ikigai -p`` end to end: a real subprocess against the loopback fake server."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.headless_helpers import ROOT, clean_env, run_ikigai, run_on_terminal
from tests.fakeserver import FakeServer, Fault, Reply, Text, Thinking, ToolCall, http_error

CONTRACT_FIELDS = {
    "start": {"type", "model"},
    "text_delta": {"type", "index", "text"},
    "thinking_delta": {"type", "index", "text"},
    "tool_call_start": {"type", "index", "id", "name"},
    "tool_call_delta": {"type", "index", "arguments"},
    "tool_call_done": {"type", "index"},
    "done": {"type", "finish_reason", "usage", "provider_data"},
    "error": {"type", "category", "message", "http_status", "retry_after_ms"},
    "tool_result": {"type", "id", "name", "ok", "output"},
    "stored": {"type", "kind", "id", "parent_id", "conversation_id"},
}
USAGE_FIELDS = {"input_tokens", "output_tokens", "thinking_tokens", "cached_tokens", "total_tokens"}


def chat_args(server: FakeServer, *more: str) -> list[str]:
    return [
        "--model",
        "openai-chat/fake-model",
        "--base-url",
        server.base_url("openai-chat"),
        *more,
    ]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")


def test_text_output_streams_the_answer_only(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(Reply(steps=[Thinking("secret reasoning"), Text("Hello, world")]))
    result = run_ikigai(["-p", "hi", *chat_args(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Hello, world\n"
    assert b"secret" not in result.stdout + result.stderr
    assert fake_server.requests[0].json["messages"] == [{"role": "user", "content": "hi"}]
    assert fake_server.requests[0].headers["authorization"] == "Bearer sk-loopback"


def test_jsonl_output_has_the_contract_fields(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(
        Reply(
            steps=[Thinking("think"), Text("Hi"), ToolCall("glob", {"pattern": "*.toml"})],
            usage={"input_tokens": 3, "output_tokens": 4},
        ),
        Reply(steps=[Text("Found it.")]),
    )
    result = run_ikigai(["-p", "hi", "--output", "jsonl", *chat_args(fake_server)], env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    types = [e["type"] for e in events]
    assert events[0] == {"type": "start", "model": "fake-model"}
    assert types.count("start") == 2 and types.count("done") == 2
    assert types[-1] == "done"
    for event in events:
        assert set(event) == CONTRACT_FIELDS[event["type"]], event
    first_done = events[types.index("done")]
    assert set(first_done["usage"]) == USAGE_FIELDS
    assert (first_done["usage"]["input_tokens"], first_done["usage"]["output_tokens"]) == (3, 4)
    assert first_done["finish_reason"] == "tool_use"
    assert events[-1]["finish_reason"] == "stop"
    text = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert text == "HiFound it."
    args = "".join(e["arguments"] for e in events if e["type"] == "tool_call_delta")
    assert json.loads(args) == {"pattern": "*.toml"}
    assert types.count("tool_call_done") == 1
    result_line = events[types.index("tool_result")]
    call = events[types.index("tool_call_start")]
    assert result_line["id"] == call["id"] and result_line["name"] == "glob"
    assert result_line["ok"] is True
    assert "pyproject.toml" in result_line["output"]
    assert types.index("tool_result") == types.index("done") + 1
    # Each stored message's id: the prompt and the first answer right after the first
    # start, the tool result after its line, the second answer after the second start.
    stored = [(e["kind"], e["id"], e["parent_id"]) for e in events if e["type"] == "stored"]
    assert stored == [
        ("user", 1, None),
        ("assistant", 2, 1),
        ("tool_result", 4, 2),
        ("assistant", 5, 4),
    ]
    assert types[1:3] == ["stored", "stored"]
    assert types[types.index("tool_result") + 1] == "stored"
    assert {e["conversation_id"] for e in events if e["type"] == "stored"} == {1}


def test_stdin_is_appended_to_the_prompt(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(Reply(steps=[Text("ok")]))
    result = run_ikigai(["-p", "Summarize:", *chat_args(fake_server)], env, stdin=b"file body\n")
    assert result.returncode == 0, result.stderr
    content = fake_server.requests[0].json["messages"][-1]["content"]
    assert content == "Summarize:\n\nfile body\n"


def test_several_megabytes_from_stdin(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(Reply(steps=[Text("read it")]))
    big = ("line of text é\n" * 400_000).encode()
    result = run_ikigai(["-p", "count", *chat_args(fake_server)], env, stdin=big)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"read it\n"
    assert fake_server.requests[0].json["messages"][-1]["content"] == "count\n\n" + big.decode()


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_empty_prompt_is_a_usage_error(env: dict[str, str], prompt: str) -> None:
    result = run_ikigai(["-p", prompt, "--model", "openai-chat/x"], env)
    assert result.returncode == 2
    assert b"prompt is empty" in result.stderr


def test_missing_api_key_names_the_variable(tmp_path: Path) -> None:
    result = run_ikigai(["-p", "hi", "--model", "claude-sonnet-4-5"], clean_env(tmp_path))
    assert result.returncode == 2
    assert b"ANTHROPIC_API_KEY" in result.stderr
    assert result.stdout == b""


def test_unknown_profile_lists_valid_ones(env: dict[str, str]) -> None:
    result = run_ikigai(["-p", "hi", "--profile", "nope"], env)
    assert result.returncode == 2
    assert b"unknown profile 'nope' (profiles: default)" in result.stderr


def test_unknown_provider_lists_valid_ones(env: dict[str, str]) -> None:
    result = run_ikigai(["-p", "hi", "--model", "mistral-large"], env)
    assert result.returncode == 2
    assert b"openai, openai-chat, anthropic, google" in result.stderr


def test_bad_config_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.default]\nthinking = 'lots'\n", encoding="utf-8")
    result = run_ikigai(["-p", "hi"], clean_env(tmp_path, OPENAI_API_KEY="k"))
    assert result.returncode == 2
    line = result.stderr.decode().strip()
    assert str(config) in line and "profiles.default.thinking" in line
    assert len(line.splitlines()) == 1


def test_every_tool_policy_problem_is_told_on_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[tools]\nbsh = 'allow'\ngrp = 'deny'\n", encoding="utf-8")
    result = run_ikigai(
        ["-p", "hi"], clean_env(tmp_path, ANTHROPIC_API_KEY="k", OPENAI_API_KEY="k")
    )
    assert result.returncode == 2
    line = result.stderr.decode().strip()
    assert len(line.splitlines()) == 1, line
    assert "[tools] bsh: unknown tool" in line
    assert "[tools] grp: unknown tool" in line


def test_bad_flag_value_is_a_usage_error(env: dict[str, str]) -> None:
    result = run_ikigai(["-p", "hi", "--max-turns", "0"], env)
    assert result.returncode == 2
    assert b"--max-turns" in result.stderr


@pytest.mark.parametrize(
    ("reply", "category"),
    [
        (http_error(400), "invalid_arg"),
        (http_error(401), "auth"),
        (http_error(403), "auth"),
        (http_error(404), "not_found"),
        (http_error(429, retry_after="3600"), "rate_limit"),
    ],
)
def test_http_errors_exit_1_with_one_line(
    fake_server: FakeServer, env: dict[str, str], reply: Reply, category: str
) -> None:
    fake_server.enqueue(reply)
    result = run_ikigai(["-p", "hi", *chat_args(fake_server)], env)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"ikigai: error: {category}")
    assert result.stdout == b""


@pytest.mark.parametrize("status", [500, 503, 529])
def test_server_errors_are_retried_then_reported(
    fake_server: FakeServer, env: dict[str, str], status: int
) -> None:
    fake_server.enqueue(
        http_error(status, retry_after_ms="10"), http_error(status, retry_after_ms="10")
    )
    result = run_ikigai(["-p", "hi", *chat_args(fake_server)], env)
    assert result.returncode == 1
    # Captured stderr gets the one line of the contract; the retry is not in it.
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ikigai: error: server")
    assert len(fake_server.requests) == 2


def test_a_retry_is_shown_when_stderr_is_a_terminal(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    fake_server.enqueue(http_error(503, retry_after_ms="10"), http_error(503, retry_after_ms="10"))
    status, shown, _ = run_on_terminal(["-p", "hi", *chat_args(fake_server)], env, stream="stderr")
    assert status == 1
    lines = shown.decode().splitlines()
    assert lines[0].startswith("ikigai: retrying 1/1 in 0.0 s: server")
    assert lines[-1].startswith("ikigai: error: server") and len(lines) == 2


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        (Fault("reset", after_events=5), "network"),
        (Fault("cut", after_events=5), "network"),
        (Fault("malformed", after_events=5), "server"),
        (Fault("error_event", after_events=5), None),
        (Fault("stall", after_events=5, seconds=5), "timeout"),
    ],
)
def test_stream_faults_keep_partial_text(
    fake_server: FakeServer, tmp_path: Path, fault: Fault, category: str | None
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[providers.openai-chat]\nmax_retries = 1\ntimeout = 0.5\n", encoding="utf-8")
    env = clean_env(tmp_path, OPENAI_API_KEY="k")
    answer = "The partial answer arrives piece by piece."
    fake_server.enqueue(Reply(steps=[Text(answer)], fault=fault))
    for output in ("text", "jsonl"):
        if output == "jsonl":
            fake_server.enqueue(Reply(steps=[Text(answer)], fault=fault))
        result = run_ikigai(["-p", "hi", "--output", output, *chat_args(fake_server)], env)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("ikigai: error: " + (category or ""))
        if output == "text":
            printed = result.stdout.decode().rstrip("\n")
            assert printed and answer.startswith(printed)
        else:
            events = [json.loads(line) for line in result.stdout.decode().splitlines()]
            assert events[0]["type"] == "start"
            assert events[-1]["type"] == "error"
            assert any(e["type"] == "text_delta" for e in events)


def test_escape_sequences_are_neutralized_on_a_terminal(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    fake_server.enqueue(Reply(steps=[Text("red \x1b[31mtext\x1b]0;title\x07 bell\r\n")]))
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "ikigai", "-p", "hi", *chat_args(fake_server)],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
        os.close(terminal)
        terminal = -1
        output = b""
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:
                break
            if not data:
                break
            output += data
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    assert process.returncode == 0, process.stderr
    assert b"\x1b" not in output and b"\x07" not in output
    assert b"\\x1b[31mtext" in output


def test_jsonl_output_is_not_altered(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(Reply(steps=[Text("a\x1b[31mb")]))
    result = run_ikigai(["-p", "hi", "--output", "jsonl", *chat_args(fake_server)], env)
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert "".join(e["text"] for e in events if e["type"] == "text_delta") == "a\x1b[31mb"


def test_tool_subprocesses_get_the_configured_environment_and_no_secrets(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[providers.openai-chat]\nmax_retries = 1\n"
        '[tools]\nenv_allow = ["MY_*"]\n[tools.env]\nGREETING = "hello"\n',
        encoding="utf-8",
    )
    env = clean_env(
        tmp_path,
        OPENAI_API_KEY="sk-loopback-key-123",
        MY_SETTING="passed-through",
        MY_TOKEN="tok-must-not-leak",
        UNLISTED="not-passed",
    )
    command = 'echo "[$GREETING][$MY_SETTING][$MY_TOKEN][$UNLISTED][$OPENAI_API_KEY]"'
    fake_server.enqueue(
        Reply([ToolCall("bash", {"command": command}, id="call_1")]),
        Reply([Text("done")]),
    )
    result = run_ikigai(
        ["-p", "run it", "--output", "jsonl", "--allow", "bash", *chat_args(fake_server)],
        env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    results = [
        json.loads(line)
        for line in result.stdout.decode().splitlines()
        if json.loads(line)["type"] == "tool_result"
    ]
    assert results[0]["ok"] is True
    assert "[hello][passed-through][][][]" in results[0]["output"]


def test_a_key_with_a_stray_carriage_return_is_refused_by_name(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    key = "sk-proj-abcdefghijklmnop123456"
    env = clean_env(tmp_path, OPENAI_API_KEY=key + "\r")
    result = run_ikigai(["-p", "hi", *chat_args(fake_server)], env)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0] and "carriage return" in lines[0]
    assert key not in result.stderr.decode()
    assert fake_server.requests == []
