"""Running the real ``ikigai`` command in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment without the developer's keys or config, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("IKIGAI_") and not name.endswith("_API_KEY")
    }
    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text("[providers.openai-chat]\nmax_retries = 1\n", encoding="utf-8")
    env["IKIGAI_CONFIG"] = str(config)
    env["IKIGAI_DB"] = str(tmp_path / "ikigai.db")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config-home")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_ikigai(
    args: list[str],
    env: dict[str, str],
    *,
    stdin: bytes | None = None,
    timeout: float = 60,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[bytes]:
    """``ikigai ARGS`` with stdin from ``stdin`` (a closed pipe when None)."""
    return subprocess.run(
        [sys.executable, "-m", "ikigai", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )
