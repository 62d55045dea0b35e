"""API keys never reach subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext, scrub_env, subprocess_env
from ikigai.engine.tools.environment import withheld_names
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


BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/me",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "DISPLAY": ":0",
    "EDITOR": "vim",
    "PYTHONPATH": "/somewhere",
    "GITHUB_TOKEN": "ghp_secret",
    "AWS_ACCESS_KEY_ID": "AKIA-secret",
    "DB_PASSWORD": "hunter2",
    "OPENAI_API_KEY": "sk-openai-0123456789",
}


async def test_bash_gets_only_the_allow_list(workdir: Path) -> None:
    context = ToolContext(cwd=workdir, env=BASE_ENV)
    result = await call("bash", context, command="env")
    names = {line.split("=", 1)[0] for line in result.output.splitlines()[:-1]}
    # PWD, SHLVL and _ are bash's own.
    assert names == {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "PWD", "SHLVL", "_"}


def test_secret_names_are_withheld_even_when_asked_for() -> None:
    context = ToolContext(
        cwd=Path("/"),
        env=BASE_ENV,
        env_allow=("EDITOR", "GITHUB_TOKEN", "AWS_*", "DB_PASSWORD", "OPENAI_API_KEY"),
        extra_env={"SERVICE_TOKEN": "t", "ANTHROPIC_API_KEY": "sk-ant", "MODE": "ci"},
    )
    env = subprocess_env(context)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "EDITOR": "vim",
        "MODE": "ci",
    }
    assert withheld_names(context) == [
        "ANTHROPIC_API_KEY",
        "DB_PASSWORD",
        "GITHUB_TOKEN",
        "OPENAI_API_KEY",
        "SERVICE_TOKEN",
    ]


def test_secret_patterns_are_configurable_but_provider_keys_are_not() -> None:
    context = ToolContext(
        cwd=Path("/"),
        env=BASE_ENV,
        env_allow=("GITHUB_TOKEN", "OPENAI_API_KEY", "MY_KEY_VAR"),
        extra_env={"MY_KEY_VAR": "from-config"},
        secret_patterns=(),
        secret_env_names=frozenset({"MY_KEY_VAR"}),
    )
    env = subprocess_env(context)
    assert env["GITHUB_TOKEN"] == "ghp_secret"
    assert "OPENAI_API_KEY" not in env
    assert "MY_KEY_VAR" not in env  # a profile's api_key_env


def test_a_copy_of_a_key_under_another_name_is_withheld() -> None:
    key = BASE_ENV["OPENAI_API_KEY"]
    context = ToolContext(
        cwd=Path("/"),
        env={**BASE_ENV, "COPY": key, "CURL_OPTS": f"-H 'Authorization: Bearer {key}'"},
        env_allow=("COPY", "CURL_OPTS"),
        extra_env={"FROM_CONFIG": key},
    )
    env = subprocess_env(context)
    assert not {"COPY", "CURL_OPTS", "FROM_CONFIG"} & set(env)
    assert key not in "".join(env.values())
