"""Control characters from content on the command line: neutralized on a terminal, raw elsewhere.

``ikigai export`` to a terminal shows them as ``ikigai history`` does
(``\\x1b``); to a pipe or with ``-o`` the stored text comes out unchanged.
``--output jsonl`` escapes every control inside JSON strings, C1 included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.headless_helpers import clean_env, run_ikigai, run_on_terminal
from tests.fakeserver import FakeServer, Reply, Text

OSC52 = "\x1b]52;c;SEVMTE8=\x07"
HOSTILE = f"{OSC52} \x1b]0;pwned\x1b\\ \x1b[2JWIPED \x9b2JC1 \x9d0;t\x9c \x85 \x7f"
SHOWN = (
    "\\x1b]52;c;SEVMTE8=\\x07 \\x1b]0;pwned\\x1b\\ \\x1b[2JWIPED "
    "\\x9b2JC1 \\x9d0;t\\x9c \\x85 \\x7f"
)
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def chat(server: FakeServer) -> list[str]:
    return ["--model", "openai-chat/fake-model", "--base-url", server.base_url("openai-chat")]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")


@pytest.fixture
def stored(fake_server: FakeServer, env: dict[str, str]) -> dict[str, str]:
    """A stored conversation whose title and answer hold the hostile text."""
    fake_server.enqueue(Reply(steps=[Text(f"answer {HOSTILE}")]))
    result = run_ikigai(["-p", f"title {HOSTILE}", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    return env


def terminal_text(shown: bytes) -> str:
    """What a terminal received, decoded, with the line discipline's CR LF as LF."""
    return shown.decode("utf-8").replace("\r\n", "\n")


def test_export_to_a_terminal_shows_controls_like_history(stored: dict[str, str]) -> None:
    status, shown, stderr = run_on_terminal(["export", "1"], stored)
    assert status == 0, stderr
    text = terminal_text(shown)
    assert TERMINAL_CONTROLS.search(text) is None
    assert f"answer {SHOWN}" in text and f"title {SHOWN}" in text
    status, listed, stderr = run_on_terminal(["history"], stored)
    assert status == 0, stderr
    assert TERMINAL_CONTROLS.search(terminal_text(listed)) is None
    assert f"title {SHOWN}" in terminal_text(listed)


def test_json_export_to_a_terminal_stays_valid_json(stored: dict[str, str]) -> None:
    status, shown, stderr = run_on_terminal(["export", "1", "--format", "json"], stored)
    assert status == 0, stderr
    text = terminal_text(shown)
    assert TERMINAL_CONTROLS.search(text) is None
    contents = [message["content"] for message in json.loads(text)["messages"]]
    assert contents == [f"title {HOSTILE}", f"answer {HOSTILE}"]


def test_export_to_a_pipe_or_a_file_is_the_stored_text(
    stored: dict[str, str], tmp_path: Path
) -> None:
    piped = run_ikigai(["export", "1"], stored)
    assert piped.returncode == 0, piped.stderr
    assert f"answer {HOSTILE}".encode() in piped.stdout
    target = tmp_path / "conversation.md"
    written = run_on_terminal(["export", "1", "-o", str(target)], stored)
    assert written[0] == 0, written[2]
    assert f"answer {HOSTILE}" in target.read_text(encoding="utf-8")
    assert written[1] == b""


def test_jsonl_escapes_c1_controls_and_del_like_the_other_controls(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    answer = "a\x9b2Jb\x9d0;t\x9cc\x85d\x7fe\u2028f\x1b[31mg"
    fake_server.enqueue(Reply(steps=[Text(answer, chunk=3)]))
    result = run_ikigai(["-p", "hi", "--output", "jsonl", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").split("\n")
    assert lines.pop() == ""
    assert TERMINAL_CONTROLS.search("".join(lines)) is None
    assert "\u2028" not in result.stdout.decode("utf-8")
    assert "\\u009b" in result.stdout.decode("ascii", "replace")
    events = [json.loads(line) for line in lines]
    assert "".join(e["text"] for e in events if e["type"] == "text_delta") == answer


def test_headless_notices_on_stderr_are_neutralized(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[providers.openai-chat]\nmax_retries = 2\n", encoding="utf-8")
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    error = {"error": {"message": f"overloaded {HOSTILE}", "type": "server_error"}}
    fake_server.enqueue(
        Reply(status=503, body=error, headers={"retry-after-ms": "10"}),
        Reply(status=503, body=error, headers={"retry-after-ms": "10"}),
        Reply(status=503, body=error, headers={"retry-after-ms": "10"}),
    )
    status, shown, _ = run_on_terminal(["-p", "hi", *chat(fake_server)], env, stream="stderr")
    assert status == 1
    stderr = shown.decode("utf-8").replace("\r\n", "\n")  # the terminal's own line ends
    assert "retry" in stderr and stderr.count(f"overloaded {SHOWN}") == 3
    assert TERMINAL_CONTROLS.search(stderr) is None
