"""The real app driven by Textual's pilot against the loopback fake server.

Each test asserts on what the bus carried, what the widgets show and what
the database stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ikigai.tui.bus import BusEvent
from ikigai.tui.screens.approval import ApprovalScreen
from ikigai.tui.screens.help import HelpScreen
from ikigai.tui.screens.picker import PickerScreen
from ikigai.tui.widgets.message_views import AssistantMessage, ErrorBlock, Notice, ToolCallView
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Fault, Reply, Text, Thinking, ToolCall, http_error


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def notices(app) -> str:
    return "\n".join(n.copy_text for n in app.query(Notice))


async def send(pilot, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def test_a_turn_streams_through_the_bus_into_widgets_and_storage(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Thinking("Let me think."), Text("# Title\n\nHello **there**.")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    seen: list[BusEvent] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.bus.subscribe(seen.append)
        await send(pilot, "hi there")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
        await pilot.pause(0.1)
        answer = app.scrollback.last_answer()
        assert answer is not None
        assert answer.copy_text == "# Title\n\nHello **there**."
        assert answer.status == "complete"
        assert app.query_one("#thinking-view").text == "Let me think."
        conversation = app.conversation.id
    types = [e.type for e in seen]
    assert types[0] == "user_prompt" and types[-1] == "done"
    assert "thinking_delta" in types and "text_delta" in types
    assert {e.turn_id for e in seen} == {1}
    assert conversation is not None
    stored = rows(
        app_env / "ikigai.db",
        "SELECT kind, content, status, json_extract(data, '$.model') FROM messages ORDER BY id",
    )
    assert stored[0][:2] == ("user", "hi there")
    assert stored[1] == ("assistant", "# Title\n\nHello **there**.", "complete", "fake-model")


async def test_escape_cancels_keeps_partial_and_stores_interrupted(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply(
            [Text("partial answer that will stall", chunk=4)],
            fault=Fault("stall", after_events=4, seconds=30),
        )
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "go")
        await wait_for(
            pilot,
            lambda: (
                app.scrollback.last_answer() is not None
                and len(app.scrollback.last_answer().copy_text) >= 8
            ),
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)
        await pilot.pause(0.1)
        answer = app.scrollback.last_answer()
        assert answer.status == "interrupted"
        assert answer.copy_text.startswith("part")
        # The answer says it was interrupted, and nothing else repeats it.
        labels = [str(label.render()) for label in answer.query(".interrupted-label")]
        assert labels == ["⏹ interrupted"]
        assert "interrupted" not in notices(app)
    stored = rows(
        app_env / "ikigai.db", "SELECT status, content FROM messages WHERE kind = 'assistant'"
    )
    assert stored[0][0] == "interrupted"
    assert stored[0][1].startswith("part")


async def test_auth_error_block_names_the_key(app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(http_error(401))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: bool(app.query(ErrorBlock)))
        block = app.query_one(ErrorBlock)
        assert block.category == "auth"
        assert "OPENAI_API_KEY" in block.copy_text


async def test_no_key_opens_and_says_which_variable(
    app_env: Path, fake_server: FakeServer, monkeypatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        assert "Set OPENAI_API_KEY" in notices(app)
        await send(pilot, "hello")
        await pilot.pause(0.1)
        assert not app.busy
        assert fake_server.requests == []


async def test_sending_while_busy_is_refused_and_text_kept(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply([Text("slow answer")], fault=Fault("stall", after_events=2, seconds=30))
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "first")
        await wait_for(pilot, lambda: app.busy)
        await send(pilot, "second")
        assert app.prompt_input.text == "second"
        assert "a turn is running" in notices(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.busy)


async def test_model_switch_is_recorded_per_message(app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("one")]), Reply([Text("two")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "a")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
        await send(pilot, "/model openai-chat/second-model/high")
        await wait_for(pilot, lambda: app.conversation.run.model == "second-model")
        await send(pilot, "b")
        await wait_for(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not app.busy)
        assert app.conversation.run.thinking == "high"
    stored = rows(
        app_env / "ikigai.db",
        "SELECT kind, json_extract(data, '$.model') FROM messages "
        "WHERE kind IN ('assistant', 'command') ORDER BY id",
    )
    assert stored == [
        ("assistant", "fake-model"),
        ("command", "second-model"),
        ("assistant", "second-model"),
    ]
    assert fake_server.requests[1].json["model"] == "second-model"


async def test_unknown_command_and_bad_argument_are_one_line_errors(app_env: Path) -> None:
    app = make_app(app_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "/frobnicate")
        await send(pilot, "/thinking extreme")
        await wait_for(pilot, lambda: "/thinking:" in notices(app))
        assert "unknown command /frobnicate" in notices(app)


async def test_mark_rewind_clear_are_stored_and_shape_the_context(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Text("one")]), Reply([Text("two")]), Reply([Text("three")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "a")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 2)
        await send(pilot, "/mark base")
        await wait_for(pilot, lambda: "base" in app.conversation.marks)
        await send(pilot, "b")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 4)
        await send(pilot, "/rewind base")
        await wait_for(pilot, lambda: app.conversation.context_length == 2)
        await send(pilot, "c")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 4)
        await send(pilot, "/clear")
        await wait_for(pilot, lambda: app.conversation.context() == [])
    sent = [m["content"] for m in fake_server.requests[2].json["messages"] if m["role"] == "user"]
    assert sent == ["a", "c"]
    kinds = [r[0] for r in rows(app_env / "ikigai.db", "SELECT kind FROM messages ORDER BY id")]
    assert kinds == [
        "user",
        "assistant",
        "mark",
        "user",
        "assistant",
        "rewind",
        "user",
        "assistant",
        "clear",
    ]


async def test_prompt_history_walks_with_up_and_down(app_env: Path) -> None:
    app = make_app(app_env)
    app.prompt_history.add("older prompt")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("up")
        assert app.prompt_input.text == "older prompt"
        await pilot.press("down")
        assert app.prompt_input.text == ""
        await pilot.press("x", "ctrl+j", "y")
        assert app.prompt_input.text == "x\ny"


async def test_help_screen_and_thinking_toggle(app_env: Path) -> None:
    app = make_app(app_env)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        pane = app.query_one("#thinking")
        before = pane.display
        await pilot.press("ctrl+t")
        assert pane.display is not before


async def test_resume_shows_messages_and_continues_the_context(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(Reply([Text("first answer")]), Reply([Text("second answer")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "remember 42")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 2)
        await pilot.press("ctrl+q")
    again = make_app(app_env, fake_server.base_url("openai-chat"), continue_last=True)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, again.ready.is_set)
        answer = again.scrollback.last_answer()
        assert answer is not None and answer.copy_text == "first answer"
        await send(pilot, "what number?")
        await wait_for(pilot, lambda: not again.busy and again.conversation.context_length == 4)
    contents = [
        m["content"] for m in fake_server.requests[1].json["messages"] if m["role"] != "system"
    ]
    assert contents[:2] == ["remember 42", "first answer"]


async def test_picker_searches_and_opens(app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("about zebras")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "tell me about zebras")
        await wait_for(pilot, lambda: not app.busy and app.conversation.context_length == 2)
        first = app.conversation.id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.conversation.id != first)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"zebra")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.conversation.id == first)
        await wait_for(pilot, lambda: app.scrollback.last_answer() is not None)
        assert app.scrollback.last_answer().copy_text == "about zebras"


async def test_tool_call_asks_and_runs_after_yes(app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(
        Reply([ToolCall("file_write", {"path": "note.txt", "content": "hi"}, id="call_1")]),
        Reply([Text("written")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "write it")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.pause(0.1)
        assert app.spinner.state == "waiting for your approval"
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.busy)
        await pilot.pause(0.1)
        view = app.query_one(ToolCallView)
        assert view.tool_name == "file_write" and view.ok
    assert (app_env / "note.txt").read_text() == "hi"
    kinds = [r[0] for r in rows(app_env / "ikigai.db", "SELECT kind FROM messages ORDER BY id")]
    assert "tool_call" in kinds and "tool_result" in kinds


async def test_tool_denied_with_reason_reaches_the_model(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("bash", {"command": "rm -rf /"}, id="call_2")]),
        Reply([Text("ok, not doing it")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "clean up")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("n")
        await pilot.press(*"too risky")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.busy)
        await pilot.pause(0.1)
        assert not app.query_one(ToolCallView).ok
    tool_messages = [m for m in fake_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert "too risky" in tool_messages[0]["content"]


async def test_submit_and_newline_keys_can_be_moved(app_env: Path, fake_server: FakeServer) -> None:
    config = app_env / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[keys]\nsubmit = "ctrl+s"\nnewline = "enter"\n',
        encoding="utf-8",
    )
    fake_server.enqueue(Reply([Text("got both lines")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await pilot.press("o", "n", "e", "enter", "t", "w", "o")
        assert app.prompt_input.text == "one\ntwo"
        assert fake_server.requests == []
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
    sent = fake_server.requests[0].json["messages"]
    assert sent[-1] == {"role": "user", "content": "one\ntwo"}
