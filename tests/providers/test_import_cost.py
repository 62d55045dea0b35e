"""Loading the providers loads httpx without its command-line client (Rich, click)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_httpx_comes_without_its_command_line_client() -> None:
    probe = (
        "import sys; import ikigai.providers.http; import httpx; "
        "print(sorted(m for m in ('click', 'rich', 'httpx._main') if m in sys.modules "
        "and sys.modules[m] is not None), httpx.AsyncClient.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == ["[]", "AsyncClient"], result.stdout + result.stderr
