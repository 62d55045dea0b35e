"""``ikigai -p`` with fallback models against two loopback servers, and a paused answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Raw, Reply, Text, http_error
from tests.providers import anthropic_streams as streams


@pytest.fixture
def backup_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def env_with(
    tmp_path: Path, primary: FakeServer, backup: FakeServer | None, **keys: str
) -> dict[str, str]:
    text = (
        '[profiles.default]\nmodel = "anthropic/claude-sonnet-4-5"\n'
        'fallback = ["openai-chat/backup-model"]\n'
        f'[providers.anthropic]\nbase_url = "{primary.base_url("anthropic")}"\nmax_retries = 0\n'
    )
    if backup is not None:
        text += f'[providers.openai-chat]\nbase_url = "{backup.base_url("openai-chat")}"\n'
        text += "max_retries = 0\n"
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    values = {"ANTHROPIC_API_KEY": "loopback", "OPENAI_API_KEY": "loopback", **keys}
    return clean_env(tmp_path, **{k: v for k, v in values.items() if v})


def test_overloaded_primary_is_answered_by_the_fallback(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(http_error(529))
    backup_server.enqueue(Reply(steps=[Text("From the backup.")]))
    result = run_ikigai(["-p", "hello"], env_with(tmp_path, fake_server, backup_server))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"From the backup.\n"
    stderr = result.stderr.decode()
    assert "ikigai: anthropic/claude-sonnet-4-5 failed (server, HTTP 529" in stderr
    assert "trying openai-chat/backup-model" in stderr


def test_fallback_in_jsonl_keeps_stdout_to_the_contracts_events(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(http_error(503))
    backup_server.enqueue(Reply(steps=[Text("ok")]))
    result = run_ikigai(
        ["-p", "hello", "--output", "jsonl"], env_with(tmp_path, fake_server, backup_server)
    )
    assert result.returncode == 0, result.stderr
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    # The contract's events, plus the documented ids of the stored prompt and answer.
    assert types == ["start", "stored", "stored", "text_delta", "done"]
    assert b"trying openai-chat/backup-model" in result.stderr


def test_every_model_failing_lists_each_attempt(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(http_error(529))
    backup_server.enqueue(http_error(500))
    result = run_ikigai(["-p", "hello"], env_with(tmp_path, fake_server, backup_server))
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert any(line.startswith("ikigai: error: server") for line in lines)
    assert lines[-1] == (
        "ikigai: every model failed: anthropic/claude-sonnet-4-5 (server), "
        "openai-chat/backup-model (server)"
    )


def test_fallback_to_an_unknown_provider_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[profiles.default]\nmodel = "anthropic/claude-sonnet-4-5"\nfallback = ["somewhere"]\n'
    )
    result = run_ikigai(["-p", "hi"], clean_env(tmp_path, ANTHROPIC_API_KEY="k"))
    assert result.returncode == 2
    assert b"profiles.default.fallback: 'somewhere'" in result.stderr


def test_fallback_without_a_key_is_exit_2(fake_server: FakeServer, tmp_path: Path) -> None:
    result = run_ikigai(["-p", "hi"], env_with(tmp_path, fake_server, None, OPENAI_API_KEY=""))
    assert result.returncode == 2
    assert b"fallback 'openai-chat/backup-model': no API key" in result.stderr
    assert b"OPENAI_API_KEY" in result.stderr
    assert fake_server.requests == []


def test_paused_answer_reads_as_one_answer(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.enqueue(Raw(streams.paused_search()), Raw(streams.answer_after_search()))
    env = clean_env(tmp_path, ANTHROPIC_API_KEY="loopback")
    result = run_ikigai(
        [
            "-p",
            "news?",
            "--model",
            "anthropic/claude-sonnet-4-5",
            "--base-url",
            fake_server.base_url("anthropic"),
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Let me search. Version 2 is out.\n"
    assert len(fake_server.requests) == 2
