"""The app completes a tool round trip in each of the four wire formats."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ikigai.tui.widgets.message_views import ToolCallView
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text, Thinking, ToolCall

FORMATS = {
    "openai-chat": ("openai-chat/fake-model", "OPENAI_API_KEY"),
    "openai": ("openai/gpt-5-mini", "OPENAI_API_KEY"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "google": ("google/gemini-2.5-flash", "GEMINI_API_KEY"),
}


@pytest.mark.parametrize("provider", list(FORMATS))
async def test_file_read_then_answer(
    app_env: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    model, key = FORMATS[provider]
    monkeypatch.setenv(key, "loopback-key")
    (app_env / "notes.txt").write_text("the notes say hello\n", encoding="utf-8")
    fake_server.enqueue(
        Reply([Thinking("I will read the notes."), ToolCall("file_read", {"path": "notes.txt"})]),
        Reply([Text("Your notes say **hello**.")]),
    )
    app = make_app(app_env, fake_server.base_url(provider), model=model)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set, what="storage")
        await pilot.press(*"what do my notes say?")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: not app.busy and app.scrollback.last_answer() is not None,
            what="the answer",
        )
        await pilot.pause(0.1)
        view = app.query_one(ToolCallView)
        assert view.tool_name == "file_read" and view.ok
        answer = app.scrollback.last_answer()
        assert answer is not None and answer.copy_text == "Your notes say **hello**."
    assert len(fake_server.requests) == 2
    assert "the notes say hello" in json.dumps(fake_server.requests[1].json)
    with sqlite3.connect(app_env / "ikigai.db") as conn:
        kinds = [row[0] for row in conn.execute("SELECT kind FROM messages ORDER BY id")]
        providers = {
            row[0]
            for row in conn.execute(
                "SELECT json_extract(data, '$.provider') FROM messages WHERE kind = 'assistant'"
            )
        }
    assert kinds == ["user", "assistant", "tool_call", "tool_result", "assistant"]
    assert providers == {provider}
