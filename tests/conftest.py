"""Shared fixtures: a fresh fake LLM server per test, and the recorded fixtures folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.disks import mounted_small_disk
from tests.fakeserver import FakeServer

# Property tests check what happens, not how fast: a loaded CI machine must not
# turn a slow example into a failure.
settings.register_profile("ikigai", deadline=None)
settings.load_profile("ikigai")

FIXTURES_DIR = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _private_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads the developer's own ``~/.config/ikigai`` (its AGENTS.md, say)."""
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config-home"))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = previous


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started ``FakeServer`` on 127.0.0.1 (random port), stopped after the test."""
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures``: the recorded provider streams and error bodies."""
    return FIXTURES_DIR


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MB file system (tmpfs), unmounted afterwards."""
    with mounted_small_disk(tmp_path / "disk") as disk:
        yield disk
