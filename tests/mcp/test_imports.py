"""A session without MCP servers never loads the SDK (it pulls pydantic, starlette, httpx2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, sys
from ikigai.engine.conversation import Conversation
from ikigai.engine.settings import Settings, resolve_run

settings = Settings()
conversation = Conversation(settings, resolve_run(settings, require_key=False))
specs = conversation._tools.specs()
asyncio.run(conversation._tools.prepare())
heavy = ("mcp", "mcp_types", "httpx2", "jsonschema")
print(len(specs), sorted(name for name in heavy if name in sys.modules))
"""


def test_no_server_configured_means_no_sdk_import() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert result.stdout.split(maxsplit=1) == ["6", "[]\n"]
