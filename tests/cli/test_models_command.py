"""``ikigai models``: against the loopback server, a compatible server's ``/v1/models``,
and servers that have no list (404, HTML) or refuse the key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Raw, http_error
from tests.fakeserver.models import anthropic_models, gemini_models, openai_models


def models(
    server: FakeServer, provider: str, tmp_path: Path, *more: str, key: str = "k"
) -> subprocess.CompletedProcess[bytes]:
    env_key = {"anthropic": "ANTHROPIC_API_KEY", "google": "GEMINI_API_KEY"}.get(
        provider, "OPENAI_API_KEY"
    )
    env = clean_env(tmp_path, **({env_key: key} if key else {}))
    return run_ikigai(["models", provider, "--base-url", server.base_url(provider), *more], env)


def test_compatible_server_list_in_text(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.enqueue(openai_models("qwen3:8b", "llama3.2:latest", owned_by="library"))
    result = models(fake_server, "openai-chat", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["MODEL", "THINKING", "MAX", "OUTPUT", "WINDOW"]
    assert [line.split()[0] for line in lines[1:]] == [
        "openai-chat/llama3.2:latest",
        "openai-chat/qwen3:8b",
    ]
    assert all(line.split()[1] == "-" for line in lines[1:])  # ikigai knows nothing of them
    assert result.stderr == b""
    assert fake_server.requests[0].path == "/v1/models"


def test_anthropic_list_merged_with_the_table_as_json(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(anthropic_models("claude-opus-4-7", "claude-new-9"))
    result = models(fake_server, "anthropic", tmp_path, "--output", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["provider"] == "anthropic" and data["source"] == "server"
    by_id = {m["id"]: m for m in data["models"]}
    assert by_id["claude-opus-4-7"] == {
        "id": "claude-opus-4-7",
        "provider": "anthropic",
        "listed": True,
        "known": True,
        "thinking": "adaptive",
        "max_output_tokens": 128_000,
        "context_window": 1_000_000,  # from the model-facts table
        "display_name": "Claude Opus 4 7",
    }
    assert by_id["claude-new-9"]["known"] is False
    assert "max_output_tokens" not in by_id["claude-new-9"]
    assert fake_server.requests[0].headers["x-api-key"] == "k"


def test_gemini_list_carries_the_servers_limits(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.enqueue(gemini_models("gemini-2.5-flash"))
    result = models(fake_server, "google", tmp_path)
    assert result.returncode == 0, result.stderr
    row = result.stdout.decode().splitlines()[1].split()
    assert row == ["google/gemini-2.5-flash", "budget", "65536", "1048576"]


def test_the_list_is_cached_until_refresh(fake_server: FakeServer, tmp_path: Path) -> None:
    key = "sk-cache-Wq83Zr"
    fake_server.enqueue(openai_models("gpt-5.4"), openai_models("gpt-5.4", "gpt-5.5"))
    first = models(fake_server, "openai", tmp_path, key=key)
    second = models(fake_server, "openai", tmp_path, key=key)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout and len(fake_server.requests) == 1
    refreshed = models(fake_server, "openai", tmp_path, "--refresh", key=key)
    assert len(fake_server.requests) == 2
    assert b"openai/gpt-5.5" in refreshed.stdout
    cached = list((tmp_path / "cache" / "ikigai" / "models").glob("openai-*.json"))
    assert len(cached) == 1 and key.encode() not in cached[0].read_bytes()


def test_404_falls_back_to_the_known_list_with_a_note(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    result = models(fake_server, "anthropic", tmp_path)  # nothing queued: 404
    assert result.returncode == 0
    assert b"anthropic/claude-opus-4-7" in result.stdout
    assert b"offers no model list" in result.stderr and b"ikigai's own list" in result.stderr


def test_html_page_falls_back_to_the_known_list(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.enqueue(Raw(b"<html><body>router login</body></html>", content_type="text/html"))
    result = models(fake_server, "openai-chat", tmp_path, "--output", "json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["source"] == "known" and "HTML" in data["note"]
    assert "openai-chat/gpt-5" in [f"{m['provider']}/{m['id']}" for m in data["models"]]


def test_refused_key_lists_the_known_models_and_fails(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(http_error(401))
    result = models(fake_server, "google", tmp_path)
    assert result.returncode == 1
    assert b"google/gemini-2.5-pro" in result.stdout
    assert b"ikigai: " in result.stderr


def test_without_a_key_a_remote_server_is_not_asked(tmp_path: Path) -> None:
    # TEST-NET-1 (RFC 5737) is not on this machine: asking it would fail, not list.
    result = run_ikigai(
        ["models", "openai", "--base-url", "http://192.0.2.1/v1"], clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert b"openai/gpt-5" in result.stdout and b"no API key" in result.stderr


def test_without_a_key_a_server_on_this_machine_is_asked(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(openai_models("qwen3:8b"))
    result = models(fake_server, "openai-chat", tmp_path, key="")
    assert result.returncode == 0, result.stderr
    assert b"openai-chat/qwen3:8b" in result.stdout
    assert "authorization" not in {name.lower() for name in fake_server.requests[0].headers}


def test_no_key_asks_without_the_key_that_is_set(fake_server: FakeServer, tmp_path: Path) -> None:
    fake_server.enqueue(openai_models("qwen3:8b"))
    result = models(fake_server, "openai-chat", tmp_path, "--no-key", key="sk-secret")
    assert result.returncode == 0, result.stderr
    assert b"openai-chat/qwen3:8b" in result.stdout
    assert "sk-secret" not in str(fake_server.requests[0].headers)


def test_unknown_provider_is_a_usage_error(tmp_path: Path) -> None:
    result = run_ikigai(["models", "nope"], clean_env(tmp_path))
    assert result.returncode == 2
    assert b"unknown provider 'nope'" in result.stderr
