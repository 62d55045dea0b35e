"""The app and the context: /compact, the meter in the status bar, /context, @path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ikigai.tui.widgets.compaction_views import CompactedDivider, SummaryView
from ikigai.tui.widgets.message_views import AssistantMessage, Notice, UserMessage
from tests.app.conftest import CONFIG, make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text


def notices(app) -> str:
    return "\n".join(n.copy_text for n in app.query(Notice))


async def send(pilot, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def turn(pilot, text: str) -> None:
    answers = len(pilot.app.query(AssistantMessage))
    await send(pilot, text)
    await wait_for(
        pilot, lambda: not pilot.app.busy and len(pilot.app.query(AssistantMessage)) > answers
    )


def configure(app_env: Path, extra: str) -> None:
    (app_env / "config.toml").write_text(CONFIG + extra, encoding="utf-8")


def status_text(app) -> str:
    return str(app.query_one("#status").render())


async def test_compact_from_the_app_dims_the_history_and_shows_the_summary(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply([Text("Zebras are striped.")]),
        Reply([Text("Lions roar.")]),
        Reply([Text("Owls hoot.")]),
        Reply([Text("We talked about zebras, lions and owls.")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        for prompt in ("zebras?", "lions?", "owls?"):
            await turn(pilot, prompt)
        await send(pilot, "/compact list the animals")
        await wait_for(pilot, lambda: bool(app.query(SummaryView)), what="the summary")
        divider = app.query_one(CompactedDivider)
        assert divider.copy_text.startswith(
            "compacted: 2 messages summarized, the last 2 turns kept"
        )
        assert app.query_one(SummaryView).copy_text == "We talked about zebras, lions and owls."
        first_prompt = app.query(UserMessage).first()
        assert first_prompt.has_class("compacted")
        assert "list the animals" in fake_server.requests[3].json["messages"][-1]["content"]
        conversation_id = app.conversation.id
    with sqlite3.connect(app_env / "ikigai.db") as conn:
        stored = conn.execute("SELECT kind FROM messages ORDER BY id").fetchall()
    assert [k for (k,) in stored][-1] == "summary" and len(stored) == 7

    # Opened again, the stored summary shows the same way.
    again = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation_id)
    async with again.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: bool(again.query(SummaryView)), what="the stored summary")
        assert again.query(UserMessage).first().has_class("compacted")
        assert again.query_one(CompactedDivider).copy_text.startswith("compacted: 2 messages")


async def test_compact_while_a_turn_runs_is_refused(app_env: Path, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply([Text("slow " * 40)], event_delay=0.05))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.busy and len(fake_server.requests) == 1)
        await send(pilot, "/compact")
        await wait_for(pilot, lambda: "/compact: a turn is running" in notices(app))
        await wait_for(pilot, lambda: not app.busy)
    assert len(fake_server.requests) == 1


async def test_the_status_bar_shows_the_window_and_the_cost(
    app_env: Path, fake_server: FakeServer
) -> None:
    configure(
        app_env,
        '[models."fake-model"]\ncontext_window = 10000\ninput_cost = 1.0\noutput_cost = 2.0\n',
    )
    fake_server.enqueue(
        Reply([Text("Short.")], usage={"input_tokens": 4_000, "output_tokens": 100}),
        Reply([Text("Longer.")], usage={"input_tokens": 9_000, "output_tokens": 200}),
        Reply([Text("The summary.")], usage={"input_tokens": 500, "output_tokens": 50}),
        Reply([Text("After.")], usage={"input_tokens": 1_500, "output_tokens": 20}),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await turn(pilot, "one")
        await wait_for(pilot, lambda: "ctx 41%" in status_text(app))
        assert "$0.0042" in status_text(app)
        assert not app.status_info.context_warning
        await turn(pilot, "two")
        await wait_for(pilot, lambda: "ctx 92%" in status_text(app))
        assert app.status_info.context_warning
        spans = app.query_one("#status").render().spans
        assert any("$warning" in str(span.style) for span in spans)
        # The next prompt would pass 85%: the app compacts first and says so.
        await turn(pilot, "three")
        await wait_for(pilot, lambda: bool(app.query(CompactedDivider)))
        assert "compacting the conversation first" in notices(app)
        assert app.query_one(CompactedDivider).copy_text.startswith("auto-compacted")
        await wait_for(pilot, lambda: not app.status_info.context_warning)
        assert app.status_info.cost_usd is not None
        assert round(app.status_info.cost_usd, 6) == round(
            (4_000 + 9_000 + 500 + 1_500) / 1e6 + (100 + 200 + 50 + 20) * 2 / 1e6, 6
        )


async def test_context_command_lists_the_parts(app_env: Path, fake_server: FakeServer) -> None:
    (app_env / ".git").mkdir()
    (app_env / "AGENTS.md").write_text("Be brief.", encoding="utf-8")
    configure(app_env, '[models."fake-model"]\ncontext_window = 100000\n')
    fake_server.enqueue(Reply([Text("Hi.")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await turn(pilot, "hello")
        await send(pilot, "/context")
        await wait_for(pilot, lambda: "tool definitions" in notices(app))
        shown = notices(app)
        assert "context of openai-chat/fake-model:" in shown and "of 100,000 tokens" in shown
        assert f"AGENTS.md {app_env / 'AGENTS.md'}" in shown
        assert "messages (2)" in shown
        assert "Be brief." in fake_server.requests[0].json["messages"][0]["content"]


async def test_at_path_completes_and_a_missing_file_is_refused(
    app_env: Path, fake_server: FakeServer
) -> None:
    (app_env / "notes.md").write_text("remember", encoding="utf-8")
    (app_env / "docs").mkdir()
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("read @no")
        await pilot.press("tab")
        assert app.prompt_input.text == "read @notes.md "
        app.prompt_input.set_text("read @do")
        await pilot.press("tab")
        assert app.prompt_input.text == "read @docs/"
        await send(pilot, "read @nothere.md")
        await wait_for(pilot, lambda: "@nothere.md: no such file" in notices(app))
        assert not app.busy
    assert fake_server.requests == []


async def test_a_prompt_during_compaction_stays_in_the_input(
    app_env: Path, fake_server: FakeServer
) -> None:
    fake_server.enqueue(
        Reply([Text("one")]),
        Reply([Text("two")]),
        Reply([Text("three")]),
        Reply([Text("A slow summary.")], delay=1.0),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        for prompt in ("a", "b", "c"):
            await turn(pilot, prompt)
        await send(pilot, "/compact")
        await wait_for(pilot, lambda: app.conversation.compacting)
        await send(pilot, "wait for me")
        assert "compacting: your prompt stays in the input" in notices(app)
        assert app.prompt_input.text == "wait for me"
        await wait_for(pilot, lambda: bool(app.query(SummaryView)))
    assert len(fake_server.requests) == 4
