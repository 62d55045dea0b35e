"""``ikigai -p`` and the context: cost on done lines, -c compaction, @file, AGENTS.md, history."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Reply, Text, http_error

CHAT = "openai-chat/fake-model"


def chat(server: FakeServer, model: str = CHAT) -> list[str]:
    provider = model.partition("/")[0]
    return ["--model", model, "--base-url", server.base_url(provider)]


def env_with(tmp_path: Path, config: str = "") -> dict[str, str]:
    base = "[providers.openai-chat]\nmax_retries = 0\n[providers.anthropic]\nmax_retries = 0\n"
    (tmp_path / "config.toml").write_text(base + config, encoding="utf-8")
    return clean_env(tmp_path, OPENAI_API_KEY="sk-loopback", ANTHROPIC_API_KEY="sk-ant")


def kinds(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "ikigai.db") as conn:
        return [kind for (kind,) in conn.execute("SELECT kind FROM messages ORDER BY id")]


def test_done_lines_carry_the_cost_when_the_price_is_known(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path)
    usage = {"input_tokens": 1_000, "output_tokens": 200, "cached_tokens": 400}
    fake_server.enqueue(Reply([Text("Priced.")], usage=usage))
    model = "anthropic/claude-haiku-4-5"
    result = run_ikigai(["-p", "hi", "--output", "jsonl", *chat(fake_server, model)], env)
    assert result.returncode == 0, result.stderr
    done = [json.loads(line) for line in result.stdout.splitlines()][-1]
    assert set(done) == {"type", "finish_reason", "usage", "provider_data", "cost_usd"}
    # Anthropic's input_tokens leave the cache reads out; the normalized count has them in.
    assert done["usage"]["input_tokens"] == 1_400
    assert done["cost_usd"] == pytest.approx((1_000 * 1.0 + 400 * 0.1 + 200 * 5.0) / 1e6)


def test_history_shows_the_cost_of_each_conversation(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path, '[models."fake-model"]\ninput_cost = 2.0\noutput_cost = 8.0\n')
    fake_server.enqueue(
        Reply([Text("a")], usage={"input_tokens": 1_000, "output_tokens": 1_000}),
        Reply([Text("b")], usage={"input_tokens": 1_000, "output_tokens": 1_000}),
    )
    assert run_ikigai(["-p", "one", *chat(fake_server)], env).returncode == 0
    assert (
        run_ikigai(["-p", "two", *chat(fake_server, "openai-chat/unpriced")], env).returncode == 0
    )
    listing = run_ikigai(["history"], env).stdout.decode().splitlines()
    assert listing[0].split("\t")[4] == "-"
    assert listing[1].split("\t")[4] == "$0.0100"


def test_continue_auto_compacts_and_says_so_on_stderr(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(
        tmp_path, '[models."fake-model"]\ncontext_window = 12000\n[context]\nkeep_turns = 1\n'
    )
    fake_server.enqueue(
        Reply([Text("A" * 4_000)], usage={"input_tokens": 50, "output_tokens": 1_000}),
        Reply([Text("B" * 8_000)], usage={"input_tokens": 7_000, "output_tokens": 2_000}),
    )
    assert run_ikigai(["-p", "first", *chat(fake_server)], env).returncode == 0
    assert run_ikigai(["-p", "second", "-c", *chat(fake_server)], env).returncode == 0
    fake_server.enqueue(Reply([Text("What happened so far.")]), Reply([Text("Done.")]))
    result = run_ikigai(["-p", "third " + "y" * 6_000, "-c", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Done.\n"
    stderr = result.stderr.decode()
    assert "compacting the conversation first" in stderr
    assert "ikigai: auto-compacted: 2 messages summarized, the last 1 turn kept" in stderr
    sent = fake_server.requests[3].json["messages"]
    assert sent[0]["content"].endswith("What happened so far.")
    assert "A" * 50 not in json.dumps(sent)
    assert kinds(tmp_path) == [
        "user",
        "assistant",
        "user",
        "assistant",
        "summary",
        "user",
        "assistant",
    ]


def test_compact_command_summarizes_the_continued_conversation(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path, "[context]\nkeep_turns = 0\n")
    fake_server.enqueue(Reply([Text("Paris.")]))
    assert run_ikigai(["-p", "Capital of France?", *chat(fake_server)], env).returncode == 0
    alone = run_ikigai(["-p", "/compact", *chat(fake_server)], env)
    assert alone.returncode == 2 and b"add -c" in alone.stderr
    fake_server.enqueue(http_error(503))
    failed = run_ikigai(["-p", "/compact", "-c", *chat(fake_server)], env)
    assert failed.returncode == 1
    assert b"compaction failed: server (HTTP 503)" in failed.stderr
    assert kinds(tmp_path) == ["user", "assistant"]
    fake_server.enqueue(Reply([Text("The user asked about Paris.")]))
    result = run_ikigai(["-p", "/compact keep the city names", "-c", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"The user asked about Paris.\n"
    assert b"ikigai: compacted: 2 messages summarized" in result.stderr
    assert "keep the city names" in fake_server.requests[2].json["messages"][-1]["content"]
    assert kinds(tmp_path) == ["user", "assistant", "summary"]
    again = run_ikigai(["-p", "/compact", "-c", *chat(fake_server)], env)
    assert again.returncode == 2 and b"nothing to compact" in again.stderr


def test_compact_from_a_message_summarizes_the_path_up_to_it(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path, "[context]\nkeep_turns = 0\n")
    fake_server.enqueue(Reply([Text("Paris.")]), Reply([Text("Rome.")]))
    assert run_ikigai(["-p", "Capital of France?", *chat(fake_server)], env).returncode == 0
    assert run_ikigai(["-p", "And Italy?", "-c", *chat(fake_server)], env).returncode == 0
    fake_server.enqueue(Reply([Text("The user asked about France.")]))
    result = run_ikigai(["-p", "/compact", "--from", "2", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"The user asked about France.\n"
    summarized = json.dumps(fake_server.requests[2].json["messages"])
    assert "Paris." in summarized and "Italy" not in summarized
    with sqlite3.connect(tmp_path / "ikigai.db") as conn:
        [(parent,)] = conn.execute("SELECT parent_id FROM messages WHERE kind = 'summary'")
    assert parent == 2


def test_attachments_from_the_prompt_not_from_stdin(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path)
    (tmp_path / "todo.txt").write_text("buy milk", encoding="utf-8")
    fake_server.enqueue(Reply([Text("ok")]), Reply([Text("ok")]))
    result = run_ikigai(["-p", "read @todo.txt", *chat(fake_server)], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    content = fake_server.requests[0].json["messages"][0]["content"]
    assert content == 'read @todo.txt\n\n<attachment path="todo.txt">\nbuy milk\n</attachment>'
    piped = run_ikigai(
        ["-p", "summarize", *chat(fake_server)], env, stdin=b"mail @missing.txt", cwd=tmp_path
    )
    assert piped.returncode == 0, piped.stderr
    assert (
        fake_server.requests[1].json["messages"][0]["content"] == "summarize\n\nmail @missing.txt"
    )
    missing = run_ikigai(["-p", "read @missing.txt", *chat(fake_server)], env, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.decode().count("\n") == 1
    assert "@missing.txt: no such file — nothing was sent" in missing.stderr.decode()
    assert len(fake_server.requests) == 2


def test_agents_md_of_the_working_directory_is_sent(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    (project / "AGENTS.md").write_text("Use tabs, never spaces.", encoding="utf-8")
    fake_server.enqueue(Reply([Text("ok")]))
    result = run_ikigai(["-p", "hi", *chat(fake_server)], env, cwd=project)
    assert result.returncode == 0, result.stderr
    system = fake_server.requests[0].json["messages"][0]
    assert system["role"] == "system" and "Use tabs, never spaces." in system["content"]


def test_a_context_overflow_error_says_what_to_do_in_one_line(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    env = env_with(tmp_path)
    body = {
        "error": {
            "message": "This model's maximum context length is 8192 tokens.",
            "code": "context_length_exceeded",
        }
    }
    fake_server.enqueue(http_error(400, body=body))
    result = run_ikigai(["-p", "hi", *chat(fake_server)], env)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ikigai: error: invalid_arg: HTTP 400: This model's maximum")
    assert "'ikigai -c -p /compact' summarizes it" in lines[0]
