"""The real app against the loopback fake server: hostile content never reaches the terminal.

The pilot tests render full frames as Textual's driver would write them and
check them for control characters from content; the last test runs ``ikigai``
on a pseudo-terminal and searches the bytes it wrote for the hostile payloads.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from ikigai.tui.screens.approval import ApprovalScreen
from ikigai.tui.screens.copy import CopyScreen
from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.widgets.message_views import ErrorBlock, ToolCallView
from tests.app.conftest import make_app, wait_for
from tests.app.terminal import Terminal
from tests.cli.headless_helpers import clean_env
from tests.fakeserver import FakeServer, Reply, Text, Thinking, ToolCall, http_error
from tests.widgets.painted import (
    CLEAR,
    HOSTILE,
    OSC0,
    OSC52,
    VISIBLE_OSC52,
    foreign_controls,
    painted,
    visible_text,
)

SIZE = (200, 60)
# A file with NUL bytes is refused as binary; every other control can be in a text file.
FILE_HOSTILE = HOSTILE.replace("\x00", "")
ANSWER = f"# Answer {HOSTILE}\n\nSee `{HOSTILE}`.\n\n```\n{HOSTILE}\n```\n"


def stored(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def send(pilot: Any, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def frame(pilot: Any) -> str:
    await pilot.pause(0.1)
    return painted(pilot.app)


def hostile_turn(server: FakeServer) -> None:
    """Thinking, a file_read of a file holding the payloads, then an answer holding them."""
    server.enqueue(
        Reply(
            [
                Thinking(f"thinking {HOSTILE}"),
                ToolCall("file_read", {"path": "evil.txt"}, id="call_1"),
            ]
        ),
        Reply([Text(ANSWER, chunk=3)]),
    )


async def test_a_hostile_turn_is_shown_neutralized_and_stored_as_sent(
    app_env: Path, fake_server: FakeServer
) -> None:
    (app_env / "evil.txt").write_text(f"first line\n{FILE_HOSTILE}\n", encoding="utf-8")
    hostile_turn(fake_server)
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "read evil.txt")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 4)
        output = await frame(pilot)
        view = app.query_one(ToolCallView)
        assert view.ok and FILE_HOSTILE in (view.output or "")
    assert foreign_controls(output) == []
    # The answer's heading, inline code and code block, the file's line, the thinking.
    assert visible_text(output).count(VISIBLE_OSC52) == 5
    answers = stored(app_env / "ikigai.db", "SELECT content FROM messages WHERE kind='assistant'")
    assert (ANSWER,) in answers


async def test_a_hostile_conversation_loaded_from_history_is_shown_neutralized(
    app_env: Path, fake_server: FakeServer
) -> None:
    (app_env / "evil.txt").write_text(f"first line\n{FILE_HOSTILE}\n", encoding="utf-8")
    hostile_turn(fake_server)
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, f"prompt {OSC52}")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 4)
    again = make_app(app_env, fake_server.base_url("openai-chat"), continue_last=True)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: again.scrollback.last_answer() is not None)
        output = await frame(pilot)
        assert again.scrollback.last_answer().copy_text == ANSWER
    assert foreign_controls(output) == []
    # The prompt, the tool's output and the answer's three places (no thinking pane).
    assert visible_text(output).count(VISIBLE_OSC52) == 5


async def test_the_approval_prompt_shows_hostile_arguments_neutralized(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("bash", {"command": f"printf '{HOSTILE}'"}, id="call_2")]),
        Reply([Text("not run")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "run it")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        asking = await frame(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)
        after = await frame(pilot)
    assert foreign_controls(asking) == []
    # JSON shows C0 as \u001b; the C1 controls and DEL it leaves are shown as \xNN.
    assert "\\u001b]52;c;SEVMTE8=\\u0007" in visible_text(asking)
    assert "\\x9b2JC1MARK\\x9d0;c1title\\x9c\\x85 \\x7fDEL" in visible_text(asking)
    assert foreign_controls(after) == []
    assert "printf '\\x1b]52;c;SEVMTE8=\\x07" in visible_text(after)  # the tool's header


async def test_a_hostile_provider_error_is_shown_neutralized(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        http_error(400, body={"error": {"message": f"bad request {HOSTILE}", "type": "invalid"}})
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: bool(app.query(ErrorBlock)) and not app.busy)
        output = await frame(pilot)
        assert HOSTILE in app.query_one(ErrorBlock).copy_text
    assert foreign_controls(output) == []
    assert f"bad request {VISIBLE_OSC52}" in visible_text(output)


async def test_the_picker_and_copy_list_show_hostile_titles_and_snippets_neutralized(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Text(f"zebras have {OSC52} stripes")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, f"title {HOSTILE}")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 2)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, CopyScreen))
        copy_list = await frame(pilot)
        await pilot.press("escape")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause(0.2)
        listing = await frame(pilot)
        await pilot.press(*"zebras")
        await pilot.pause(0.3)
        search = await frame(pilot)
    for output in (copy_list, listing, search):
        assert foreign_controls(output) == []
    assert visible_text(copy_list).count(VISIBLE_OSC52) >= 2  # in the list (and behind it)
    assert f"title {VISIBLE_OSC52}" in visible_text(listing)
    assert f"have {VISIBLE_OSC52} stripes" in visible_text(search)


async def test_pasted_controls_in_the_prompt_are_kept_but_never_painted(app_env: Path) -> None:
    app = make_app(app_env)
    async with app.run_test(size=SIZE) as pilot:
        app.prompt_input.set_text(f"pasted {HOSTILE}")
        output = await frame(pilot)
        # What is sent is what was pasted (the text area reads VT, FF, NEL as line breaks).
        assert app.prompt_input.text.startswith(f"pasted {OSC52} {OSC0} {CLEAR}")
    # Textual's text area is not ikigai's: the app-wide guard deletes what it would paint.
    assert foreign_controls(output) == []
    assert "pasted ]52;c;SEVMTE8= ]0;pwned\\ [2JWIPED 2JC1MARK0;c1title" in visible_text(output)


# -- a real terminal -------------------------------------------------------------------------

HOSTILE_WRITES = {
    "clipboard write": re.compile(rb"\x1b\]52;[^\x07\x1b]*SEVMTE8"),
    "window title": re.compile(rb"\x1b\]0;pwned"),
    "clear screen": re.compile(rb"\x1b\[2JWIPED"),
    "8-bit CSI": re.compile(b"\xc2\x9b"),  # U+009B in UTF-8, as Textual writes text
    "8-bit OSC": re.compile(b"\xc2\x9d"),
}
C1_CONTROL = re.compile("[\x80-\x9f]")


def test_the_app_on_a_real_terminal_never_writes_content_escapes(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    (tmp_path / "evil.txt").write_text(f"first line\n{FILE_HOSTILE}\n", encoding="utf-8")
    fake_server.enqueue(
        Reply(
            [
                Thinking(f"thinking {HOSTILE}"),
                ToolCall("file_read", {"path": "evil.txt"}, id="call_1"),
            ]
        ),
        Reply([Text(f"{ANSWER}\nZEBRA-END\n", chunk=3)]),
    )
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")
    args = ["--model", "openai-chat/fake-model", "--base-url", fake_server.base_url("openai-chat")]
    terminal = Terminal(args, env, tmp_path)
    try:
        terminal.read_until(lambda out: b"fake-model" in out)
        terminal.type(b"read evil.txt\r")
        terminal.read_until(lambda out: b"ZEBRA-END" in out)
        # Let the last frames out, then quit.
        terminal.read_until(lambda out: out.count(VISIBLE_OSC52.encode()) >= 5)
        terminal.type(b"\x11")  # ctrl+q
        terminal.read_until(lambda out: terminal.process.poll() is not None)
    finally:
        status = terminal.close()
    output = bytes(terminal.output)
    assert status == 0, output[-2000:]
    for name, pattern in HOSTILE_WRITES.items():
        assert pattern.search(output) is None, f"{name} reached the terminal"
    assert C1_CONTROL.search(output.decode("utf-8", "replace")) is None
    # The payloads were painted, visibly: the answer, the file and the thinking.
    assert output.count(VISIBLE_OSC52.encode()) >= 5
    answers = stored(tmp_path / "ikigai.db", "SELECT content FROM messages WHERE kind='assistant'")
    assert (f"{ANSWER}\nZEBRA-END\n",) in answers
