"""Fixtures for the app's pilot and snapshot tests: a private config, data dirs and database."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.config_loader import load_settings
from ikigai.tui.app import IkigaiApp
from ikigai.tui.history import PromptHistory
from ikigai.tui.launch import build_app

CONFIG = """\
default_profile = "default"

[profiles.default]
model = "openai-chat/fake-model"

[profiles.other]
model = "openai-chat/other-model"
thinking = "high"
"""


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp config (``IKIGAI_CONFIG``), data and cache dirs, and an API key."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("IKIGAI_CONFIG", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("IKIGAI_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_app(
    tmp_path: Path,
    base_url: str | None = None,
    *,
    model: str | None = "openai-chat/fake-model",
    continue_last: bool = False,
    conversation: int | None = None,
    profile: str | None = None,
    **options: Any,
) -> IkigaiApp:
    """The real app with the CLI's flags, a frozen clock and no animation."""
    config, _ = load_settings(None)
    args = argparse.Namespace(
        profile=profile,
        model=model,
        thinking=None,
        base_url=base_url,
        config=None,
        db=str(tmp_path / "ikigai.db"),
        continue_last=continue_last,
        conversation=conversation,
    )
    options.setdefault("clock", lambda: 0.0)
    options.setdefault("animate", False)
    options.setdefault("history", PromptHistory(tmp_path / "prompt-history.jsonl"))
    return build_app(config, args, **options)


async def wait_for(
    pilot: Any, condition: Callable[[], bool], seconds: float = 10.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``seconds``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)
