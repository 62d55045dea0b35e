"""The engine's branch verbs against the loopback server, on real SQLite files.

Each test asserts what the fake server received (the context the model saw)
and what the database stored.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.conversation import (
    Busy,
    Conversation,
    ConversationError,
    ToolAccess,
    UnknownMessage,
)
from ikigai.engine.events import Branched
from ikigai.engine.settings import Settings, resolve_run
from ikigai.engine.turns import Turn
from ikigai.storage import Database
from tests.fakeserver import FakeServer, Fault, Reply, Text, ToolCall

SETTINGS = {
    "profiles": {"default": {"model": "openai-chat/fake-model"}},
    "providers": {"openai-chat": {"max_retries": 0}},
}


def _conversation(db: Database | None, server: FakeServer, cwd: Path) -> Conversation:
    settings = Settings.from_data(SETTINGS)
    base_url = server.base_url("openai-chat")
    run = resolve_run(settings, base_url=base_url, env={"OPENAI_API_KEY": "sk-test"})
    return Conversation(settings, run, db=db, tools=ToolAccess(cwd=cwd), base_url=base_url)


@pytest.fixture
async def convo(tmp_path: Path, fake_server: FakeServer) -> AsyncIterator[Conversation]:
    db = await Database.open(tmp_path / "ikigai.db")
    conversation = _conversation(db, fake_server, tmp_path)
    yield conversation
    await conversation.close(5.0)


async def run(convo: Conversation, turn: Turn) -> list[Any]:
    """Run ``turn`` and wait until what it stored is on disk (tests read it from outside)."""
    events = [event async for event in turn]
    assert await convo.saved()
    return events


def sent(server: FakeServer, number: int = -1) -> list[tuple[str, str]]:
    """(role, content) of every message of request ``number``."""
    return [(m["role"], m.get("content") or "") for m in server.requests[number].json["messages"]]


def rows(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def row_id(db: Path, kind: str, content: str) -> int:
    [(found,)] = rows(db, "SELECT id FROM messages WHERE kind = ? AND content = ?", kind, content)
    return int(found)


async def _two_turns(convo: Conversation, server: FakeServer) -> None:
    server.enqueue(Reply([Text("a1")]), Reply([Text("a2")]))
    await run(convo, convo.send("q1"))
    await run(convo, convo.send("q2"))


async def test_edit_sends_a_sibling_with_the_path_before_it(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    q2 = row_id(db, "user", "q2")
    fake_server.enqueue(Reply([Text("a2 for the edit")]))
    events = await run(convo, await convo.edit(q2, "q2 edited"))
    assert events[0] == Branched(q2, row_id(db, "assistant", "a1"))
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 edited")]
    edited = row_id(db, "user", "q2 edited")
    assert rows(db, "SELECT parent_id FROM messages WHERE id = ?", edited) == [
        (row_id(db, "assistant", "a1"),)
    ]
    # The old branch stays whole; the new one is the current path.
    assert rows(db, "SELECT count(*) FROM messages WHERE content IN ('q2', 'a2')") == [(2,)]
    versions = await convo.versions([edited])
    assert (versions[edited].index, versions[edited].count) == (2, 2)
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, convo.send("q3"))
    assert sent(fake_server)[-3:] == [
        ("user", "q2 edited"),
        ("assistant", "a2 for the edit"),
        ("user", "q3"),
    ]


async def test_regenerate_any_answer_with_another_model_for_that_turn(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    a1 = row_id(db, "assistant", "a1")
    fake_server.enqueue(Reply([Text("a1 again")], model="other-model"))
    events = await run(convo, await convo.regenerate(a1, model="openai-chat/other-model"))
    assert not any(e.type == "user_prompt" for e in events)
    assert fake_server.requests[-1].json["model"] == "other-model"
    assert sent(fake_server) == [("user", "q1")]
    again = row_id(db, "assistant", "a1 again")
    assert rows(
        db, "SELECT parent_id, json_extract(data, '$.model') FROM messages WHERE id = ?", again
    ) == [(row_id(db, "user", "q1"), "other-model")]
    assert rows(db, "SELECT count(*) FROM messages WHERE kind = 'user'") == [(2,)]
    assert convo.run.model == "fake-model"
    fake_server.enqueue(Reply([Text("next")]))
    await run(convo, convo.send("q3"))
    assert fake_server.requests[-1].json["model"] == "fake-model"
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1 again"), ("user", "q3")]


async def test_regenerating_an_answer_with_tool_calls_leaves_the_results_behind(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    (tmp_path / "notes.txt").write_text("x")
    fake_server.enqueue(
        Reply([Text("Looking."), ToolCall("glob", {"pattern": "*.txt"})]),
        Reply([Text("There is notes.txt.")]),
    )
    await run(convo, convo.send("what files?"))
    assert [r[0] for r in rows(db, "SELECT kind FROM messages ORDER BY id")] == [
        "user",
        "assistant",
        "tool_call",
        "tool_result",
        "assistant",
    ]
    caller = row_id(db, "assistant", "Looking.")
    fake_server.enqueue(Reply([Text("Just ask me.")]))
    await run(convo, await convo.regenerate(caller))
    # The model sees the prompt only: no tool call, no tool result of the old branch.
    assert fake_server.requests[-1].json["messages"] == [{"role": "user", "content": "what files?"}]
    assert rows(
        db,
        "SELECT kind, parent_id FROM messages WHERE kind IN ('tool_call', 'tool_result')",
    ) == [("tool_call", caller), ("tool_result", caller)]
    fake_server.enqueue(Reply([Text("ok")]))
    await run(convo, convo.send("thanks"))
    assert sent(fake_server) == [
        ("user", "what files?"),
        ("assistant", "Just ask me."),
        ("user", "thanks"),
    ]


async def test_retry_answers_again_and_never_stores_the_prompt_twice(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    fake_server.enqueue(Reply([Text("a2 again")]))
    await run(convo, await convo.regenerate())
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]
    assert rows(db, "SELECT count(*) FROM messages WHERE kind = 'user' AND content = 'q2'") == [
        (1,)
    ]
    # A prompt cancelled before any answer is answered by a retry (not its previous answer).
    fake_server.enqueue(Reply([Text("slow")], fault=Fault("stall", after_events=0, seconds=30)))
    turn = convo.send("q3")
    task = asyncio.create_task(run(convo, turn))
    await fake_server.wait_for_requests_async(4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, await convo.regenerate())
    assert sent(fake_server)[-1] == ("user", "q3")
    assert rows(db, "SELECT count(*) FROM messages WHERE content = 'q3'") == [(1,)]


async def test_switching_versions_swaps_the_path_and_the_context(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    a1 = row_id(db, "assistant", "a1")
    fake_server.enqueue(Reply([Text("a1 v2")]))
    await run(convo, await convo.regenerate(a1))
    move = await convo.switch_branch("prev")
    assert move.replaced == row_id(db, "assistant", "a1 v2")
    assert [r.content for r in move.rows] == ["a1", "q2", "a2"]
    assert (move.version.index, move.version.count) == (1, 2)
    with pytest.raises(ConversationError, match="first version"):
        await convo.switch_branch("prev", a1)
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, convo.send("q3"))
    assert sent(fake_server)[-2:] == [("assistant", "a2"), ("user", "q3")]
    move = await convo.switch_branch(2, a1)
    assert [r.content for r in move.rows] == ["a1 v2"]
    with pytest.raises(ConversationError, match="versions 1 to 2"):
        await convo.switch_branch(5, a1)
    # The leaf is stored: a resume opens on the branch switched to.
    leaf = row_id(db, "assistant", "a1 v2")
    await convo.close(5.0)
    reopened = _conversation(await Database.open(db), fake_server, tmp_path)
    try:
        opened = await reopened.open(1)
        assert opened.leaf == leaf and opened.rows[-1].id == leaf
        newest = await reopened.open(1, branch="newest")
        assert newest.rows[-1].content == "a3"
    finally:
        await reopened.close(5.0)


async def test_a_branch_point_inside_a_rewound_region(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await convo.mark("start")
    await _two_turns(convo, fake_server)
    await convo.rewind("start")
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, convo.send("q3"))
    assert sent(fake_server) == [("user", "q3")]
    # An answer the rewind took out of the context: its new version sees the context
    # as it was there.
    fake_server.enqueue(Reply([Text("a2 v2")]))
    await run(convo, await convo.regenerate(row_id(db, "assistant", "a2")))
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]
    assert convo.marks == ("start",)
    # A prompt after the rewind: its new version starts from the rewound context.
    await convo.switch_branch("prev", row_id(db, "assistant", "a2 v2"))
    fake_server.enqueue(Reply([Text("a3 v2")]))
    await run(convo, await convo.edit(row_id(db, "user", "q3"), "q3 v2"))
    assert sent(fake_server) == [("user", "q3 v2")]


async def test_a_mark_set_again_is_the_latest_after_a_resume(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    fake_server.enqueue(Reply([Text("a1")]), Reply([Text("a2")]))
    await convo.mark("A")
    await run(convo, convo.send("q1"))
    await convo.mark("B")
    await run(convo, convo.send("q2"))
    await convo.mark("A")
    assert convo.marks == ("B", "A")
    await convo.close(5.0)
    reopened = _conversation(await Database.open(db), fake_server, tmp_path)
    try:
        await reopened.open(1)
        # The latest mark is the second A (the context as it is), and B was set before it.
        assert await reopened.rewind() == "A"
        assert reopened.marks == ("B", "A")
        fake_server.enqueue(Reply([Text("a3")]))
        await run(reopened, reopened.send("q3"))
        assert sent(fake_server)[-2:] == [("assistant", "a2"), ("user", "q3")]
    finally:
        await reopened.close(5.0)


async def test_a_branch_point_before_a_clear(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    fake_server.enqueue(Reply([Text("a1")]))
    await run(convo, convo.send("q1"))
    await convo.clear()
    fake_server.enqueue(Reply([Text("a2")]))
    await run(convo, convo.send("q2"))
    assert sent(fake_server) == [("user", "q2")]
    # After the clear, a new version of the answer sees only what follows the clear.
    fake_server.enqueue(Reply([Text("a2 v2")]))
    await run(convo, await convo.regenerate(row_id(db, "assistant", "a2")))
    assert sent(fake_server) == [("user", "q2")]
    # Before the clear: the new branch does not hold the clear, so the context is
    # the path's (nothing is forgotten that the branch did not forget).
    fake_server.enqueue(Reply([Text("a1 v2")]), Reply([Text("a4")]))
    await run(convo, await convo.edit(row_id(db, "user", "q1"), "q1 v2"))
    assert sent(fake_server) == [("user", "q1 v2")]
    await run(convo, convo.send("q4"))
    assert sent(fake_server) == [("user", "q1 v2"), ("assistant", "a1 v2"), ("user", "q4")]
    assert rows(db, "SELECT count(*) FROM messages WHERE kind = 'clear'") == [(1,)]
    # Editing the very first prompt makes a second root.
    assert rows(db, "SELECT count(*) FROM messages WHERE parent_id IS NULL") == [(2,)]


async def test_branch_verbs_are_refused_while_a_turn_runs(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    fake_server.enqueue(Reply([Text("a1")]))
    await run(convo, convo.send("q1"))
    fake_server.enqueue(Reply([Text("slow")], fault=Fault("stall", after_events=1, seconds=30)))
    task = asyncio.create_task(run(convo, convo.send("q2")))
    await fake_server.wait_for_requests_async(2)
    q1 = row_id(db, "user", "q1")
    with pytest.raises(Busy):
        await convo.edit(q1, "q1 edited")
    with pytest.raises(Busy):
        await convo.regenerate()
    with pytest.raises(Busy):
        await convo.switch_branch("next", q1)
    with pytest.raises(Busy):
        await convo.fork()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rows(db, "SELECT count(*) FROM messages WHERE content = 'q1 edited'") == [(0,)]


async def test_bad_targets_are_clear_errors(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    with pytest.raises(ConversationError, match="not a prompt"):
        await convo.edit(row_id(db, "assistant", "a1"), "x")
    with pytest.raises(ConversationError, match="not an answer"):
        await convo.regenerate(row_id(db, "user", "q1"))
    with pytest.raises(ConversationError, match="not in this conversation"):
        await convo.edit(999, "x")
    with pytest.raises(ConversationError, match="empty"):
        await convo.edit(row_id(db, "user", "q1"), "  ")
    with pytest.raises(ConversationError, match="no message of this branch"):
        await convo.switch_branch("next")
    assert fake_server.requests[-1].json["messages"][-1]["content"] == "q2"


async def test_fork_copies_the_path_into_a_linked_conversation(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    original = convo.id
    opened = await convo.fork()
    assert convo.id == opened.id != original
    assert [r.content for r in opened.rows] == ["q1", "a1", "q2", "a2"]
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, convo.send("q3"))
    assert sent(fake_server) == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
    ]
    assert rows(db, "SELECT count(*) FROM messages WHERE conversation_id = ?", original) == [(4,)]
    assert rows(
        db,
        "SELECT json_extract(data, '$.forked_from.conversation_id') FROM conversations "
        "WHERE id = ?",
        opened.id,
    ) == [(original,)]


async def test_open_at_a_message_opens_the_branch_holding_it(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    fake_server.enqueue(Reply([Text("a1 v2")]))
    await run(convo, await convo.regenerate(row_id(db, "assistant", "a1")))
    opened = await convo.open(1, at=row_id(db, "user", "q2"))
    assert [r.content for r in opened.rows] == ["q1", "a1", "q2", "a2"]
    await convo.ready()
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, convo.send("q3"))
    assert sent(fake_server)[-2:] == [("assistant", "a2"), ("user", "q3")]
    with pytest.raises(UnknownMessage):
        await convo.open(1, at=999)


async def test_continue_from_a_message_and_bad_ids(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await _two_turns(convo, fake_server)
    with pytest.raises(UnknownMessage, match="no message 999"):
        await convo.continue_from(999)
    a1 = row_id(db, "assistant", "a1")
    await convo.continue_from(a1)
    fake_server.enqueue(Reply([Text("b")]))
    await run(convo, convo.send("q2 elsewhere"))
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 elsewhere")]
    assert rows(db, "SELECT parent_id FROM messages WHERE content = 'q2 elsewhere'") == [(a1,)]


async def test_without_storage_retry_still_works_and_branches_say_why(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    convo = _conversation(None, fake_server, tmp_path)
    try:
        fake_server.enqueue(Reply([Text("a1")]), Reply([Text("a1 again")]))
        await run(convo, convo.send("q1"))
        await run(convo, await convo.regenerate())
        assert sent(fake_server) == [("user", "q1")]
        assert convo.context()[-1].text() == "a1 again"
        with pytest.raises(ConversationError, match="stores nothing"):
            await convo.switch_branch("next")
    finally:
        await convo.close(1.0)


async def test_regenerating_with_another_model_keeps_the_sessions_system_prompt(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    db = tmp_path / "ikigai.db"
    await convo.switch("/system Be brief.", system_prompt="Be brief.")
    fake_server.enqueue(Reply([Text("a1")]), Reply([Text("a1 again")], model="other-model"))
    await run(convo, convo.send("q1"))
    a1 = row_id(db, "assistant", "a1")
    await run(convo, await convo.regenerate(a1, model="openai-chat/other-model"))
    assert fake_server.requests[-1].json["model"] == "other-model"
    assert sent(fake_server) == [("system", "Be brief."), ("user", "q1")]


async def test_an_edit_that_is_refused_leaves_the_session_where_it_was(
    convo: Conversation, fake_server: FakeServer, tmp_path: Path
) -> None:
    await _two_turns(convo, fake_server)
    before = convo.context()
    q2 = row_id(tmp_path / "ikigai.db", "user", "q2")
    turn = await convo.edit(q2, "q2 again with @missing.txt")
    with pytest.raises(ConversationError, match=r"missing\.txt"):
        await run(convo, turn)
    assert convo.context() == before  # not the context of the edited prompt's parent
    fake_server.enqueue(Reply([Text("a3")]))
    await run(convo, convo.send("q3"))
    assert sent(fake_server) == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
    ]
    [(parent,)] = rows(tmp_path / "ikigai.db", "SELECT parent_id FROM messages WHERE content='q3'")
    assert parent == row_id(tmp_path / "ikigai.db", "assistant", "a2")


async def test_a_turn_cancelled_before_it_started_frees_the_conversation(
    convo: Conversation, fake_server: FakeServer
) -> None:
    turn = convo.send("never sent")
    assert convo.busy
    turn.cancel()
    assert not convo.busy
    assert turn.outcome is not None and turn.outcome.status == "interrupted"
    assert [event async for event in turn] == []
    fake_server.enqueue(Reply([Text("answered")]))
    events = await run(convo, convo.send("sent"))
    assert "".join(e.text for e in events if e.type == "text_delta") == "answered"
    assert [m["content"] for m in fake_server.requests[0].json["messages"]] == ["sent"]


async def test_tool_calls_left_by_max_turns_are_answered_in_the_next_request(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    settings = Settings.from_data(SETTINGS)
    base_url = fake_server.base_url("openai-chat")
    run_config = resolve_run(
        settings, base_url=base_url, max_turns=1, env={"OPENAI_API_KEY": "sk-test"}
    )
    db = await Database.open(tmp_path / "ikigai.db")
    convo = Conversation(settings, run_config, db=db, tools=ToolAccess(cwd=tmp_path))
    try:
        # The model calls a tool although the last allowed response asked it not to.
        fake_server.enqueue(
            Reply([ToolCall("glob", {"pattern": "*"}, id="c1")]), Reply([Text("ok")])
        )
        turn = convo.send("p0")
        _ = [event async for event in turn]
        assert turn.outcome is not None and turn.outcome.status == "max_turns"
        await run(convo, convo.send("p1"))
    finally:
        await convo.close(5.0)
    messages = fake_server.requests[1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
    assert messages[2]["tool_call_id"] == "c1"
    assert "limit of model responses" in messages[2]["content"]
