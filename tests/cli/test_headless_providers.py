"""``ikigai -p`` in every wire format, with a tool round trip, in both output modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Reply, Text, Thinking, ToolCall

FORMATS = {
    "openai-chat": ("openai-chat/fake-model", "OPENAI_API_KEY"),
    "openai": ("openai/gpt-5-mini", "OPENAI_API_KEY"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "google": ("google/gemini-2.5-flash", "GEMINI_API_KEY"),
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("hello from the notes file\n", encoding="utf-8")
    return work


def args(server: FakeServer, provider: str, *more: str) -> list[str]:
    model, _ = FORMATS[provider]
    return ["--model", model, "--base-url", server.base_url(provider), *more]


def env_for(tmp_path: Path, provider: str) -> dict[str, str]:
    return clean_env(tmp_path, **{FORMATS[provider][1]: "loopback-key"})


@pytest.mark.parametrize("provider", list(FORMATS))
def test_tool_round_trip_in_text_mode(
    fake_server: FakeServer, tmp_path: Path, workdir: Path, provider: str
) -> None:
    fake_server.enqueue(
        Reply(steps=[Thinking("I should read it."), ToolCall("file_read", {"path": "notes.txt"})]),
        Reply(steps=[Text("The notes say hello.")]),
    )
    result = run_ikigai(
        ["-p", "What do my notes say?", *args(fake_server, provider)],
        env_for(tmp_path, provider),
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"The notes say hello.\n"
    assert len(fake_server.requests) == 2
    second = json.dumps(fake_server.requests[1].json)
    assert "hello from the notes file" in second
    assert "What do my notes say?" in second


@pytest.mark.parametrize("provider", list(FORMATS))
def test_events_in_jsonl_mode(
    fake_server: FakeServer, tmp_path: Path, workdir: Path, provider: str
) -> None:
    fake_server.enqueue(
        Reply(steps=[Text("Reading."), ToolCall("file_read", {"path": "notes.txt"})]),
        Reply(
            steps=[Thinking("done"), Text("Hello.")], usage={"input_tokens": 9, "output_tokens": 3}
        ),
    )
    result = run_ikigai(
        ["-p", "go", "--output", "jsonl", *args(fake_server, provider)],
        env_for(tmp_path, provider),
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "start" and types[-1] == "done"
    assert types.count("start") == 2 and types.count("done") == 2
    first_done = events[types.index("done")]
    assert first_done["finish_reason"] == "tool_use"
    call = events[types.index("tool_call_start")]
    assert call["name"] == "file_read"
    arguments = "".join(e["arguments"] for e in events if e["type"] == "tool_call_delta")
    assert json.loads(arguments) == {"path": "notes.txt"}
    tool_result = events[types.index("tool_result")]
    assert tool_result["id"] == call["id"] and tool_result["ok"] is True
    assert "hello from the notes file" in tool_result["output"]
    assert events[-1]["finish_reason"] == "stop"
    assert events[-1]["usage"]["input_tokens"] == 9
    assert "".join(e["text"] for e in events if e["type"] == "text_delta") == "Reading.Hello."
    assert any(e["type"] == "thinking_delta" for e in events)


def test_bash_is_denied_without_allow(
    fake_server: FakeServer, tmp_path: Path, workdir: Path
) -> None:
    fake_server.enqueue(
        Reply(steps=[ToolCall("bash", {"command": "echo ran > proof.txt"})]),
        Reply(steps=[Text("I could not run it.")]),
    )
    result = run_ikigai(
        ["-p", "run it", "--output", "jsonl", *args(fake_server, "openai-chat")],
        env_for(tmp_path, "openai-chat"),
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    tool_result = next(
        json.loads(line) for line in result.stdout.decode().splitlines() if '"tool_result"' in line
    )
    assert tool_result["ok"] is False and "denied" in tool_result["output"]
    assert not (workdir / "proof.txt").exists()


def test_allow_lets_bash_run(fake_server: FakeServer, tmp_path: Path, workdir: Path) -> None:
    fake_server.enqueue(
        Reply(steps=[ToolCall("bash", {"command": "echo ran > proof.txt; echo $OPENAI_API_KEY"})]),
        Reply(steps=[Text("Done.")]),
    )
    result = run_ikigai(
        ["-p", "run it", "--allow", "bash", *args(fake_server, "openai-chat")],
        env_for(tmp_path, "openai-chat"),
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert (workdir / "proof.txt").read_text() == "ran\n"
    assert "loopback-key" not in json.dumps(fake_server.requests[1].json)


def test_max_turns_stops_the_tool_loop(
    fake_server: FakeServer, tmp_path: Path, workdir: Path
) -> None:
    fake_server.enqueue(
        Reply(steps=[ToolCall("glob", {"pattern": "*"})]),
        Reply(steps=[ToolCall("glob", {"pattern": "*.txt"})]),
    )
    result = run_ikigai(
        ["-p", "loop", "--max-turns", "2", *args(fake_server, "openai-chat")],
        env_for(tmp_path, "openai-chat"),
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert len(fake_server.requests) == 2
    assert fake_server.requests[0].json.get("tool_choice") is None
    assert fake_server.requests[1].json["tool_choice"] == "none"
    assert b"stopped after 2 model responses" in result.stderr


def test_unknown_allow_name_is_a_usage_error(tmp_path: Path) -> None:
    result = run_ikigai(
        ["-p", "x", "--allow", "rm", "--model", "openai-chat/m"],
        env_for(tmp_path, "openai-chat"),
    )
    assert result.returncode == 2
    assert b"rm" in result.stderr
