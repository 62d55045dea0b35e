"""Shared fixtures: a fresh fake LLM server per test, and the recorded fixtures folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeserver import FakeServer

FIXTURES_DIR = Path(__file__).parent / "fixtures"


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
