"""API keys never reach subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext, scrub_env
from tests.tools.helpers import call


async def test_bash_env_does_not_show_api_keys(workdir: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "OPENAI_API_KEY": "sk-openai-secret",
        "ANTHROPIC_API_KEY": "sk-ant-secret",
        "GEMINI_API_KEY": "gemini-secret",
        "GOOGLE_API_KEY": "google-secret",
        "MISTRAL_API_KEY": "mistral-secret",
        "MY_CUSTOM_TOKEN": "custom-secret",
        "HARMLESS": "visible-value",
    }
    context = ToolContext(
        cwd=workdir,
        env=env,
        secret_env_names=frozenset({"MY_CUSTOM_TOKEN"}),
        env_allow=("HARMLESS", "*_API_KEY", "MY_CUSTOM_TOKEN"),
    )
    result = await call("bash", context, command="env")
    assert result.ok
    assert "visible-value" in result.output
    for secret in ("sk-openai", "sk-ant", "gemini-secret", "google-secret", "mistral", "custom"):
        assert secret not in result.output


async def test_process_environment_is_scrubbed_when_context_has_none(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-process-env")
    monkeypatch.setenv("IKIGAI_TEST_MARKER", "marker-present")
    context = ToolContext(cwd=workdir, env_allow=("IKIGAI_TEST_MARKER", "OPENAI_API_KEY"))
    result = await call("bash", context, command="env")
    assert "marker-present" in result.output
    assert "sk-from-process-env" not in result.output


def test_scrub_env_keeps_everything_else() -> None:
    env = {"HOME": "/h", "openai_api_key": "x", "API_KEY_HINT": "kept", "X": "y"}
    assert scrub_env(env, ["X"]) == {"HOME": "/h", "API_KEY_HINT": "kept"}
