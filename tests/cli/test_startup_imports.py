"""What a headless run loads, and when the collector runs: pinned by what the process holds.

``ikigai -p`` against the fake server, started through a probe that records, at
exit, which of the heavy libraries the run imported, and whether the
collector was off while start-up ran and on while the answer streamed. No
timing: what is loaded and when is the design; the milliseconds are
``bench/headless_stream.py``'s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.headless_helpers import ROOT, clean_env
from tests.fakeserver import FakeServer, Reply, Text

PROBE = """
import atexit, gc, json, os, sys
import ikigai.cli.headless as headless
import ikigai.cli.prompt as prompt

seen = {}
command = prompt.run_headless_command
write = headless.HeadlessWriter.__call__

def run_headless_command(args):
    seen.setdefault("collector_during_start_up", gc.isenabled())
    return command(args)

def call(self, *args):
    seen.setdefault("collector_while_streaming", gc.isenabled())
    return write(self, *args)

prompt.run_headless_command = run_headless_command
headless.HeadlessWriter.__call__ = call

def report():
    watched = json.loads(os.environ["PROBE_WATCHED"])
    seen["loaded"] = sorted(m for m in watched if sys.modules.get(m) is not None)
    with open(os.environ["PROBE_REPORT"], "w") as out:
        json.dump(seen, out)

atexit.register(report)
from ikigai.cli.main import main
sys.exit(main())
"""

NOT_FOR_A_HEADLESS_RUN = [
    "textual",
    "rich",
    "click",
    "pydantic",
    "pydantic_settings",
    "mcp",
    "tomllib",
    "ikigai.tui",
    "ikigai.engine.config_schema",
    "ikigai.engine.attachments",
]
"""The app, the config validator and TOML parser (nothing is configured), the
MCP SDK (no server is configured), the attachment reader (no ``@path``)."""


def probe(server: FakeServer, tmp_path: Path, *flags: str) -> dict[str, object]:
    (tmp_path / "config.toml").write_text("", encoding="utf-8")  # nothing configured
    report = tmp_path / "report.json"
    args = ["-p", "hi", "--model", "openai-chat/fake-model"]
    args += ["--base-url", server.base_url("openai-chat"), *flags]
    watched = json.dumps([*NOT_FOR_A_HEADLESS_RUN, "httpx", "aiosqlite"])
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    env.update(PROBE_WATCHED=watched, PROBE_REPORT=str(report))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"Hello there\n"
    data = json.loads(report.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_a_headless_run_loads_neither_the_app_nor_the_validator_nor_mcp(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(steps=[Text("Hello there")]))
    seen = probe(fake_server, tmp_path)
    # The probe sees what the run imported: httpx and the storage it used are there.
    assert seen["loaded"] == ["aiosqlite", "httpx"]


def test_without_storage_the_database_library_is_not_loaded(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(steps=[Text("Hello there")]))
    seen = probe(fake_server, tmp_path, "--no-store")
    assert seen["loaded"] == ["httpx"]


def test_the_collector_is_off_during_start_up_and_on_while_the_answer_streams(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.enqueue(Reply(steps=[Text("Hello there")]))
    seen = probe(fake_server, tmp_path)
    assert seen["collector_during_start_up"] is False
    assert seen["collector_while_streaming"] is True
