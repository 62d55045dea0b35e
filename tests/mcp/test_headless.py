"""``ikigai -p`` with a configured stdio MCP server, in all four wire formats.

The real command runs in a subprocess against the loopback fake model server;
the MCP server is the real demo server. Its pid file shows that the run started
it and that no server process is left once ``ikigai`` has exited.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Reply, Text, ToolCall
from tests.mcp.conftest import alive, pids, toml_server

FORMATS = {
    "openai-chat": ("openai-chat/fake-model", "OPENAI_API_KEY"),
    "openai": ("openai/gpt-5-mini", "OPENAI_API_KEY"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "google": ("google/gemini-2.5-flash", "GEMINI_API_KEY"),
}


def env_with_demo(tmp_path: Path, provider: str, pid_file: Path, extra: str = "") -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(
        "[providers.openai-chat]\nmax_retries = 1\n"
        + extra
        + toml_server("demo", "--pid-file", str(pid_file)),
        encoding="utf-8",
    )
    return clean_env(tmp_path, **{FORMATS[provider][1]: "loopback-key"})


def args(server: FakeServer, provider: str, *more: str) -> list[str]:
    return ["--model", FORMATS[provider][0], "--base-url", server.base_url(provider), *more]


@pytest.mark.parametrize("provider", list(FORMATS))
def test_an_allowed_mcp_tool_runs_and_its_result_goes_back(
    fake_server: FakeServer, tmp_path: Path, pid_file: Path, provider: str
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__echo", {"text": "ping"})]),
        Reply([Text("The demo answered.")]),
    )
    env = env_with_demo(tmp_path, provider, pid_file)
    flags = ["--output", "jsonl", "--allow", "mcp__demo__echo"]
    result = run_ikigai(["-p", "call it", *flags, *args(fake_server, provider)], env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    [tool_result] = [e for e in events if e["type"] == "tool_result"]
    assert tool_result == {
        "type": "tool_result",
        "id": tool_result["id"],
        "name": "mcp__demo__echo",
        "ok": True,
        "output": "echo: ping",
    }
    assert "echo: ping" in json.dumps(fake_server.requests[1].json)
    assert "mcp__demo__echo" in json.dumps(fake_server.requests[0].json)
    text = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert text == "The demo answered."
    assert b"tool 'bad_schema' skipped" in result.stderr  # the warning, on stderr
    started = pids(pid_file)
    assert len(started) == 1
    assert not any(alive(pid) for pid in started)  # ikigai has exited: nothing left


def test_without_allow_the_mcp_tool_is_denied(
    fake_server: FakeServer, tmp_path: Path, pid_file: Path
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__echo", {"text": "ping"})]), Reply([Text("Not allowed.")])
    )
    env = env_with_demo(tmp_path, "openai-chat", pid_file)
    result = run_ikigai(["-p", "call it", *args(fake_server, "openai-chat")], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Not allowed.\n"
    [tool] = [m for m in fake_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert "not allowed by the tool policy" in tool["content"]


def test_a_config_wildcard_allows_a_whole_server_headless(
    fake_server: FakeServer, tmp_path: Path, pid_file: Path
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__add", {"a": 20, "b": 22})]), Reply([Text("42.")])
    )
    env = env_with_demo(tmp_path, "openai-chat", pid_file, '[tools]\n"mcp__demo__*" = "allow"\n')
    result = run_ikigai(["-p", "add", *args(fake_server, "openai-chat")], env)
    assert result.returncode == 0, result.stderr
    [tool] = [m for m in fake_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert tool["content"] == '{"sum": 42}'


def test_allow_naming_an_unknown_server_is_a_usage_error(
    fake_server: FakeServer, tmp_path: Path, pid_file: Path
) -> None:
    env = env_with_demo(tmp_path, "openai-chat", pid_file)
    result = run_ikigai(
        ["-p", "x", "--allow", "mcp__nope__*", *args(fake_server, "openai-chat")], env
    )
    assert result.returncode == 2
    assert b"unknown MCP server 'nope'" in result.stderr
    assert fake_server.requests == []
    assert pids(pid_file) == []


def test_a_server_that_fails_to_start_is_reported_and_the_run_goes_on(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply([Text("Answered without it.")]))
    config = tmp_path / "config.toml"
    config.write_text(
        '[mcp.servers.ghost]\ncommand = "/nonexistent/mcp-server"\n', encoding="utf-8"
    )
    env = clean_env(tmp_path, OPENAI_API_KEY="loopback-key")
    result = run_ikigai(["-p", "hi", *args(fake_server, "openai-chat")], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Answered without it.\n"
    assert (
        b"ikigai: warning: MCP server ghost failed: command '/nonexistent/mcp-server' not found"
        in result.stderr
    )
    assert "mcp__ghost" not in json.dumps(fake_server.requests[0].json)


def test_a_server_writing_garbage_to_stdout_does_not_reach_stderr(
    fake_server: FakeServer, tmp_path: Path, pid_file: Path
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("mcp__noisy__echo", {"text": "still"})]), Reply([Text("Fine.")])
    )
    config = tmp_path / "config.toml"
    config.write_text(toml_server("noisy", "--mode", "noisy"), encoding="utf-8")
    env = clean_env(tmp_path, OPENAI_API_KEY="loopback-key")
    result = run_ikigai(
        ["-p", "x", "--allow", "mcp__noisy__echo", *args(fake_server, "openai-chat")], env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Fine.\n"
    [tool] = [m for m in fake_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert tool["content"] == "echo: still"
    assert b"Traceback" not in result.stderr
    assert b"pwned" not in result.stderr
