"""Fixtures for the tool tests: a working directory, a directory outside it, a context."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The working directory tools are confined to."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the working directory, with a secret file in it."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret\n")
    return path


@pytest.fixture
def context(workdir: Path) -> ToolContext:
    """A context rooted at ``workdir`` with a small bash timeout and a clean env."""
    return ToolContext(cwd=workdir, bash_timeout=10.0, env={"PATH": "/usr/bin:/bin"})
