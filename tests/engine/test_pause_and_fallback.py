"""Paused answers that continue, and fallback models, through the real engine.

A ``Conversation`` on a real SQLite file talks to loopback fake servers: an
Anthropic one that pauses (``pause_turn``) or is overloaded (529), and an
OpenAI-compatible backup. What the user sees (the turn's events), what the
model is sent (the recorded requests) and what is stored (the rows' ``data``)
are all checked.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.config_loader import load_settings
from ikigai.engine.conversation import Conversation
from ikigai.engine.events import Fallback, TurnNote
from ikigai.engine.settings import ConfigError, resolve_run
from ikigai.engine.turns import MAX_PAUSES
from ikigai.providers.events import Done, Error, Retry, TextDelta
from ikigai.storage.repository import Database
from tests.fakeserver import FakeServer, Raw, Reply, Text, ToolCall, http_error
from tests.providers import anthropic_streams as streams

PRIMARY = "anthropic/claude-sonnet-4-5"
BACKUP = "openai-chat/backup-model"


@pytest.fixture
def backup_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-loopback")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-oai-loopback")


def config(
    tmp_path: Path, primary: FakeServer, backup: FakeServer | None = None, **extra: str
) -> Path:
    fallback = f'fallback = ["{BACKUP}"]\n' if backup is not None else ""
    text = (
        f'[profiles.default]\nmodel = "{PRIMARY}"\n{fallback}'
        f'[providers.anthropic]\nbase_url = "{primary.base_url("anthropic")}"\nmax_retries = 1\n'
    )
    if backup is not None:
        text += f'[providers.openai-chat]\nbase_url = "{backup.base_url("openai-chat")}"\n'
        text += "max_retries = 0\n"
    text += "".join(f"{line}\n" for line in extra.values())
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "ikigai.db")
    yield db


async def conversation_for(path: Path, db: Database, **run: Any) -> Conversation:
    settings, _ = load_settings(path)
    return Conversation(settings, resolve_run(settings, **run), db=db)


async def run_turn(conversation: Conversation, prompt: str) -> tuple[list[Any], Any]:
    turn = conversation.send(prompt)
    events = [event async for event in turn]
    return events, turn.outcome


async def assistant_rows(conversation: Conversation, db: Database) -> list[Any]:
    await conversation.close()
    assert conversation.id is not None
    reopened = await Database.open(db.path)
    try:
        rows = await reopened.all_messages(conversation.id)
    finally:
        await reopened.close()
    return [row for row in rows if row.kind == "assistant"]


# -- pause_turn -------------------------------------------------------------------------------


@pytest.mark.usefixtures("keys")
async def test_paused_answer_continues_into_one_answer(
    fake_server: FakeServer, tmp_path: Path, database: Database
) -> None:
    fake_server.enqueue(Raw(streams.paused_search()), Raw(streams.answer_after_search()))
    conversation = await conversation_for(config(tmp_path, fake_server), database)
    events, outcome = await run_turn(conversation, "What is new in ikigai?")
    assert (outcome.status, outcome.responses) == ("complete", 2)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Let me search. Version 2 is out."
    dones = [e for e in events if isinstance(e, Done)]
    assert [d.detail for d in dones] == ["paused", None]
    # The continuation sends the paused content back as it came, with no new prompt.
    first, second = (r.json for r in fake_server.requests)
    assert second["messages"][:-1] == first["messages"]
    assert second["messages"][-1] == {
        "role": "assistant",
        "content": dones[0].provider_data["content"],
    }
    assert second["tools"] == first["tools"]
    rows = await assistant_rows(conversation, database)
    assert [row.data.get("finish_reason") for row in rows] == ["unknown", "stop"]
    assert "continues" not in rows[0].data and rows[1].data["continues"] == "pause_turn"
    assert rows[0].data["provider_data"]["stop_reason"] == "pause_turn"
    assert rows[0].data["stop_detail"] == "paused" and "stop_detail" not in rows[1].data


@pytest.mark.usefixtures("keys")
async def test_pausing_forever_is_bounded_with_a_note(tmp_path: Path, database: Database) -> None:
    with FakeServer(repeat=[Raw(streams.paused_search())]) as server:
        conversation = await conversation_for(config(tmp_path, server), database)
        events, outcome = await run_turn(conversation, "search forever")
        requests = len(server.requests)
    assert outcome.status == "complete"
    assert requests == outcome.responses == MAX_PAUSES + 1
    notes = [e for e in events if isinstance(e, TurnNote)]
    assert len(notes) == 1 and notes[0].level == "warning"
    assert f"paused its work {MAX_PAUSES + 1} times" in notes[0].text
    await conversation.close()


@pytest.mark.usefixtures("keys")
async def test_pauses_count_against_max_turns(tmp_path: Path, database: Database) -> None:
    with FakeServer(repeat=[Raw(streams.paused_search())]) as server:
        conversation = await conversation_for(config(tmp_path, server), database, max_turns=3)
        _events, outcome = await run_turn(conversation, "search")
        assert len(server.requests) == 3
    assert (outcome.status, outcome.responses) == ("max_turns", 3)
    await conversation.close()


@pytest.mark.usefixtures("keys")
async def test_refusal_and_full_window_come_with_a_note(
    fake_server: FakeServer, tmp_path: Path, database: Database, fixtures_dir: Path
) -> None:
    fake_server.enqueue(
        Raw((fixtures_dir / "anthropic" / "09_refusal_stop_details.sse").read_bytes()),
        Raw(
            streams.sse(
                streams.start("m2"),
                *streams.text_block(0, "Partial"),
                *streams.end("model_context_window_exceeded"),
            )
        ),
    )
    conversation = await conversation_for(config(tmp_path, fake_server), database)
    events, _ = await run_turn(conversation, "refuse me")
    notes = [e.text for e in events if isinstance(e, TurnNote)]
    assert notes == ["the model declined to answer: cyber: This request was refused due to policy."]
    events, _ = await run_turn(conversation, "long one")
    notes = [e.text for e in events if isinstance(e, TurnNote)]
    assert len(notes) == 1 and "context window" in notes[0]
    await conversation.close()


# -- fallback ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("keys")
async def test_overloaded_primary_falls_back_after_its_retries(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path, database: Database
) -> None:
    fake_server.enqueue(http_error(529), http_error(529))
    backup_server.enqueue(Reply(steps=[Text("Backup answer.")]))
    conversation = await conversation_for(config(tmp_path, fake_server, backup_server), database)
    events, outcome = await run_turn(conversation, "hello")
    assert outcome.status == "complete"
    assert len(fake_server.requests) == 2  # the request and its one retry
    assert [type(e).__name__ for e in events if isinstance(e, Retry | Fallback)] == [
        "Retry",
        "Fallback",
    ]
    fallback = next(e for e in events if isinstance(e, Fallback))
    assert (fallback.failed, fallback.next) == (
        "anthropic/claude-sonnet-4-5",
        "openai-chat/backup-model",
    )
    assert (fallback.category, fallback.http_status) == ("server", 529)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Backup answer."
    assert backup_server.requests[0].json["model"] == "backup-model"
    (row,) = await assistant_rows(conversation, database)
    assert (row.data["provider"], row.data["model"]) == ("openai-chat", "backup-model")
    (skipped,) = row.data["fallback"]
    assert skipped["provider"] == "anthropic" and skipped["model"] == "claude-sonnet-4-5"
    assert skipped["category"] == "server" and skipped["http_status"] == 529


@pytest.mark.usefixtures("keys")
async def test_after_a_fallback_the_rest_of_the_turn_stays_with_it(
    fake_server: FakeServer,
    backup_server: FakeServer,
    tmp_path: Path,
    database: Database,
) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    fake_server.enqueue(http_error(503), http_error(503))
    backup_server.enqueue(
        Reply(steps=[ToolCall("glob", {"pattern": "*.txt"})]),
        Reply(steps=[Text("Found notes.txt.")]),
    )
    settings, _ = load_settings(config(tmp_path, fake_server, backup_server))
    from ikigai.engine.conversation import ToolAccess

    conversation = Conversation(
        settings,
        resolve_run(settings),
        db=database,
        tools=ToolAccess(allowed=frozenset({"glob"}), cwd=tmp_path),
    )
    events, outcome = await run_turn(conversation, "list text files")
    assert (outcome.status, outcome.responses) == ("complete", 2)
    assert len(fake_server.requests) == 2 and len(backup_server.requests) == 2
    assert sum(isinstance(e, Fallback) for e in events) == 1
    rows = await assistant_rows(conversation, database)
    assert [row.data["provider"] for row in rows] == ["openai-chat", "openai-chat"]
    assert all(row.data["fallback"][0]["http_status"] == 503 for row in rows)


@pytest.mark.usefixtures("keys")
async def test_every_model_failing_reports_the_last_error(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path, database: Database
) -> None:
    fake_server.enqueue(http_error(529), http_error(529))
    backup_server.enqueue(http_error(429, retry_after="0"))
    conversation = await conversation_for(config(tmp_path, fake_server, backup_server), database)
    events, outcome = await run_turn(conversation, "hello")
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.category == "rate_limit"
    assert sum(isinstance(e, Fallback) for e in events) == 1
    assert isinstance(events[-1], Error) and events[-1].http_status == 429
    (row,) = await assistant_rows(conversation, database)
    assert row.status == "error" and row.data["provider"] == "openai-chat"
    assert row.data["fallback"][0]["category"] == "server"


@pytest.mark.usefixtures("keys")
async def test_auth_failure_never_falls_back(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path, database: Database
) -> None:
    fake_server.enqueue(http_error(401))
    conversation = await conversation_for(config(tmp_path, fake_server, backup_server), database)
    events, outcome = await run_turn(conversation, "hello")
    assert outcome.error is not None and outcome.error.category == "auth"
    assert not any(isinstance(e, Fallback) for e in events)
    assert backup_server.requests == []
    await conversation.close()


@pytest.mark.usefixtures("keys")
async def test_failure_after_content_started_never_falls_back(
    fake_server: FakeServer, backup_server: FakeServer, tmp_path: Path, database: Database
) -> None:
    from tests.fakeserver import Fault

    fake_server.enqueue(
        Reply(
            steps=[Text("The answer goes on and on.")], fault=Fault("error_event", after_events=4)
        )
    )
    conversation = await conversation_for(config(tmp_path, fake_server, backup_server), database)
    events, outcome = await run_turn(conversation, "hello")
    assert outcome.status == "error"
    assert any(isinstance(e, TextDelta) for e in events)
    assert backup_server.requests == []
    await conversation.close()


# -- configuration ------------------------------------------------------------------------------


def test_fallback_naming_an_unknown_provider_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "config.toml"
    path.write_text('[profiles.default]\nmodel = "claude-x"\nfallback = ["mystery-model"]\n')
    with pytest.raises(ConfigError, match=r"profiles\.default\.fallback: 'mystery-model'"):
        load_settings(path)


def test_fallback_without_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(
        '[profiles.default]\nmodel = "claude-x"\nfallback = ["google/gemini-2.5-pro"]\n'
    )
    settings, _ = load_settings(path)
    with pytest.raises(
        ConfigError, match=re.escape("fallback 'google/gemini-2.5-pro': no API key")
    ):
        resolve_run(settings)
    run = resolve_run(settings, require_key=False)  # the app starts, and says so
    assert run.fallback_warnings() == [
        "fallback google/gemini-2.5-pro is skipped: set GEMINI_API_KEY or GOOGLE_API_KEY"
    ]
