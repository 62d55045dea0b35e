"""The app's first frame comes before the network, storage and engine are loaded.

The real app in a pseudo-terminal, started through a probe that records, at
the first frame (the first write holding the status bar's model name), which
of the heavy modules are loaded and whether the collector runs, and once the
session is open, whether it runs again. No timing: the order is the design;
the milliseconds are ``bench/startup_pty.py``'s.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.terminal import open_and_quit
from tests.cli.headless_helpers import clean_env
from tests.fakeserver import FakeServer

PROBE = """
import atexit, gc, json, os, sys
import textual.drivers.linux_driver as driver
import ikigai.tui.app as app

seen = {}
write = driver.LinuxDriver.write
session = app.IkigaiApp._open

def probe_write(self, data):
    if "first_frame" not in seen and "fake-model" in data:
        watched = json.loads(os.environ["PROBE_WATCHED"])
        seen["first_frame"] = sorted(m for m in watched if sys.modules.get(m) is not None)
        seen["collector_at_first_frame"] = gc.isenabled()
    return write(self, data)

async def probe_open(self):
    await session(self)
    seen["collector_once_open"] = gc.isenabled()
    seen["loaded_once_open"] = sorted(m for m in ("httpx", "aiosqlite") if m in sys.modules)

def report():
    with open(os.environ["PROBE_REPORT"], "w") as out:
        json.dump(seen, out)

driver.LinuxDriver.write = probe_write
app.IkigaiApp._open = probe_open
atexit.register(report)
from ikigai.cli.main import main
sys.exit(main())
"""

AFTER_THE_FIRST_FRAME = [
    "httpx",
    "httpcore",
    "aiosqlite",
    "sqlite3",
    "pydantic",
    "mcp",
    "markdown_it",
    "rich.markdown",
    "ikigai.tui.widgets.markdown_stream",
    "ikigai.providers.base",
    "ikigai.providers.request",
    "ikigai.storage.repository",
    "ikigai.engine.conversation",
    "ikigai.engine.turns",
]


def test_the_first_frame_comes_before_the_network_storage_and_engine(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text("", encoding="utf-8")  # nothing configured
    report = tmp_path / "report.json"
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    env.update(PROBE_WATCHED=json.dumps(AFTER_THE_FIRST_FRAME), PROBE_REPORT=str(report))
    args = ["--model", "openai-chat/fake-model", "--base-url", fake_server.base_url("openai-chat")]
    status = open_and_quit(args, env, tmp_path, python=("-c", PROBE))
    assert status == 0
    seen = json.loads(report.read_text(encoding="utf-8"))
    assert seen["first_frame"] == []
    assert seen["collector_at_first_frame"] is False
    # Opening the session loaded them, and start-up is over: the collector runs again.
    assert seen["loaded_once_open"] == ["aiosqlite", "httpx"]
    assert seen["collector_once_open"] is True
