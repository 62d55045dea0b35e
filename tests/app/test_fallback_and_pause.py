"""The app with fallback models (two loopback servers, one overloaded) and a paused answer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.widgets.message_views import AssistantMessage, Notice
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Raw, Reply, Text, http_error
from tests.providers import anthropic_streams as streams


@pytest.fixture
def backup_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def configure(app_env: Path, primary: FakeServer, backup: FakeServer, monkeypatch: Any) -> None:
    (app_env / "config.toml").write_text(
        '[profiles.default]\nmodel = "anthropic/claude-sonnet-4-5"\n'
        'fallback = ["openai-chat/backup-model"]\n'
        f'[providers.anthropic]\nbase_url = "{primary.base_url("anthropic")}"\nmax_retries = 0\n'
        f'[providers.openai-chat]\nbase_url = "{backup.base_url("openai-chat")}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")


def notices(app: Any) -> str:
    return "\n".join(n.copy_text for n in app.query(Notice))


async def test_overloaded_model_falls_back_on_screen_and_in_storage(
    app_env: Path,
    fake_server: FakeServer,
    backup_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(app_env, fake_server, backup_server, monkeypatch)
    fake_server.enqueue(http_error(529))
    backup_server.enqueue(Reply([Text("The backup answers.")]))
    app = make_app(app_env, model=None)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("hello")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
        await pilot.pause(0.1)
        answer = app.scrollback.last_answer()
        assert answer is not None and answer.copy_text == "The backup answers."
        shown = notices(app)
        assert "anthropic/claude-sonnet-4-5 failed (server, HTTP 529" in shown
        assert "trying openai-chat/backup-model" in shown
    with sqlite3.connect(app_env / "ikigai.db") as conn:
        provider, model, skipped = conn.execute(
            "SELECT json_extract(data, '$.provider'), json_extract(data, '$.model'), "
            "json_extract(data, '$.fallback[0].http_status') FROM messages WHERE kind = 'assistant'"
        ).fetchone()
    assert (provider, model, skipped) == ("openai-chat", "backup-model", 529)


async def test_a_paused_answer_is_one_answer_on_screen(
    app_env: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    fake_server.enqueue(Raw(streams.paused_search()), Raw(streams.answer_after_search()))
    app = make_app(app_env, fake_server.base_url("anthropic"), model="anthropic/claude-sonnet-4-5")
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        app.prompt_input.set_text("news?")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.busy and len(fake_server.requests) == 2)
        await pilot.pause(0.2)
        answers = list(app.query(AssistantMessage))
        assert [a.copy_text for a in answers] == ["Let me search. Version 2 is out."]
        assert answers[0].status == "complete"
        shown = notices(app)
        assert "web_search: ikigai release · web_search: 2 results" in shown
        assert "citations: 1" in shown
