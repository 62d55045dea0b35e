"""Recording a streamed answer: write-ahead, throttled flushes, final states."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from ikigai.providers.events import (
    Done,
    Error,
    ProviderEvent,
    Retry,
    Start,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from ikigai.storage import Database, TurnRecorder


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def stored(raw: sqlite3.Connection, message_id: int | None) -> tuple[str, str, dict[str, Any]]:
    row = raw.execute(
        "SELECT content, status, data FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    return row[0], row[1], json.loads(row[2])


async def new_turn(db: Database, clock: FakeClock | None = None) -> tuple[int, int, TurnRecorder]:
    conversation = await db.create_conversation()
    user = await db.add_message(conversation, "user", "question")
    recorder = TurnRecorder(
        db,
        conversation,
        user,
        provider="anthropic",
        model="claude-sonnet-4-5",
        thinking_level="med",
        clock=clock or FakeClock(),
    )
    return conversation, user, recorder


async def test_row_is_streaming_from_first_event(db: Database, raw: sqlite3.Connection) -> None:
    _, user, recorder = await new_turn(db)
    await recorder.record(Retry(1, 3, 100, "rate_limit", "slow down"))
    assert recorder.message_id is None
    await recorder.record(Start("claude-sonnet-4-5-20250929"))
    content, status, data = stored(raw, recorder.message_id)
    assert (content, status) == ("", "streaming")
    assert data == {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "thinking_level": "med",
        "response_model": "claude-sonnet-4-5-20250929",
    }
    parent = raw.execute("SELECT parent_id FROM messages WHERE id = ?", (recorder.message_id,))
    assert parent.fetchone()[0] == user


async def test_text_is_flushed_by_time_not_per_delta(db: Database, raw: sqlite3.Connection) -> None:
    clock = FakeClock()
    _, _, recorder = await new_turn(db, clock)
    raw.execute("CREATE TABLE flushes(message_id INTEGER)")
    raw.execute(
        "CREATE TRIGGER count_flushes AFTER UPDATE OF content ON messages "
        "BEGIN INSERT INTO flushes VALUES (NEW.id); END"
    )
    await recorder.record(Start("claude-sonnet-4-5"))
    await recorder.record(TextDelta(0, "Hel"))
    clock.now += 0.1
    await recorder.record(ThinkingDelta(1, "pondering"))
    clock.now += 0.1
    await recorder.record(TextDelta(0, "lo"))
    content, _, data = stored(raw, recorder.message_id)
    assert content == "" and "thinking" not in data  # 0.2 s: nothing written yet

    clock.now += 0.06
    await recorder.record(TextDelta(0, "!"))
    content, status, data = stored(raw, recorder.message_id)
    assert (content, status, data["thinking"]) == ("Hello!", "streaming", "pondering")

    for _ in range(1000):  # one second of deltas, one per millisecond
        clock.now += 0.001
        await recorder.record(TextDelta(0, "."))
    flushes = raw.execute("SELECT count(*) FROM flushes").fetchone()[0]
    assert 4 <= flushes <= 5, flushes
    await recorder.record(TextDelta(0, "?"))  # no time passed: stays pending
    content, _, _ = stored(raw, recorder.message_id)
    assert content.startswith("Hello!...") and not content.endswith("?")

    await recorder.flush()
    assert stored(raw, recorder.message_id)[0] == "Hello!" + "." * 1000 + "?"


async def test_done_completes_with_usage_and_provider_data(
    db: Database, raw: sqlite3.Connection
) -> None:
    _, _, recorder = await new_turn(db)
    provider_data = {
        "thinking_blocks": [{"type": "thinking", "signature": "EqQBCkgIARABGAIiQL"}],
        "message_id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    }
    events: list[ProviderEvent] = [
        Start("claude-sonnet-4-5"),
        ThinkingDelta(0, "Let me think. "),
        ThinkingDelta(0, "Done thinking."),
        TextDelta(1, "The answer "),
        TextDelta(1, "is 42."),
        Done("stop", Usage(100, 20, 15, 80, 135), provider_data),
    ]
    for event in events:
        await recorder.record(event)
    assert recorder.status == "complete"
    content, status, data = stored(raw, recorder.message_id)
    assert (content, status) == ("The answer is 42.", "complete")
    assert data == {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "thinking_level": "med",
        "thinking": "Let me think. Done thinking.",
        "finish_reason": "stop",
        "input_tokens": 100,
        "output_tokens": 20,
        "thinking_tokens": 15,
        "cached_tokens": 80,
        "total_tokens": 135,
        "provider_data": provider_data,
    }
    row = raw.execute(
        "SELECT json_extract(data, '$.model'), json_extract(data, '$.thinking_tokens'), "
        "json_extract(data, '$.finish_reason'), "
        "json_extract(data, '$.provider_data.thinking_blocks[0].signature') "
        "FROM messages WHERE kind = 'assistant'"
    ).fetchone()
    assert row == ("claude-sonnet-4-5", 15, "stop", "EqQBCkgIARABGAIiQL")
    nulls = raw.execute(
        "SELECT count(*) FROM messages, json_each(messages.data) WHERE json_each.type = 'null'"
    ).fetchone()[0]
    assert nulls == 0

    await recorder.record(TextDelta(1, "late"))
    await recorder.interrupt()
    assert stored(raw, recorder.message_id)[:2] == ("The answer is 42.", "complete")


async def test_missing_values_are_omitted(db: Database, raw: sqlite3.Connection) -> None:
    conversation = await db.create_conversation()
    recorder = TurnRecorder(db, conversation, None, provider="openai-chat", model="llama3")
    await recorder.record(Start("llama3"))
    await recorder.record(TextDelta(0, "hi"))
    await recorder.record(Done("stop"))
    _, _, data = stored(raw, recorder.message_id)
    assert "thinking_level" not in data and "thinking" not in data
    assert "provider_data" not in data and "tool_calls" not in data
    assert "response_model" not in data
    assert data["output_tokens"] == 0


async def test_tool_calls_go_to_data_and_rows(db: Database, raw: sqlite3.Connection) -> None:
    conversation, _, recorder = await new_turn(db)
    events: list[ProviderEvent] = [
        Start("claude-sonnet-4-5"),
        TextDelta(0, "Let me look."),
        ToolCallStart(1, "toolu_A", "bash"),
        ToolCallStart(2, "toolu_B", "read_file"),
        ToolCallDelta(1, '{"command": '),
        ToolCallDelta(2, '{"path": "a.txt"}'),
        ToolCallDelta(1, '"ls -la"}'),
        ToolCallDone(2),
    ]
    for event in events:
        await recorder.record(event)
    rows = raw.execute(
        "SELECT parent_id, content, json_extract(data, '$.id'), json_extract(data, '$.name'), "
        "json_extract(data, '$.arguments') FROM messages WHERE kind = 'tool_call'"
    ).fetchall()
    assert rows == [
        (recorder.message_id, '{"path": "a.txt"}', "toolu_B", "read_file", '{"path": "a.txt"}')
    ]
    content, status, data = stored(raw, recorder.message_id)
    assert (content, status) == ("Let me look.", "streaming")
    assert data["tool_calls"] == [
        {"id": "toolu_A", "name": "bash", "arguments": '{"command": "ls -la"}', "incomplete": True},
        {"id": "toolu_B", "name": "read_file", "arguments": '{"path": "a.txt"}'},
    ]

    await recorder.record(ToolCallDone(1))
    await recorder.record(Done("tool_use", Usage(10, 5, 0, 0, 15)))
    _, status, data = stored(raw, recorder.message_id)
    assert status == "complete" and data["finish_reason"] == "tool_use"
    assert [call["id"] for call in data["tool_calls"]] == ["toolu_A", "toolu_B"]
    assert all("incomplete" not in call for call in data["tool_calls"])
    names = raw.execute(
        "SELECT json_extract(data, '$.name') FROM messages "
        "WHERE kind = 'tool_call' AND conversation_id = ? ORDER BY id",
        (conversation,),
    ).fetchall()
    assert names == [("read_file",), ("bash",)]
    assert len(recorder.tool_call_ids) == 2


async def test_tool_result_rows_are_queryable(db: Database, raw: sqlite3.Connection) -> None:
    conversation = await db.create_conversation()
    await db.add_message(
        conversation,
        "tool_result",
        "total 0",
        data={"id": "call_1", "name": "bash", "output": "total 0", "success": True},
    )
    row = raw.execute(
        "SELECT json_extract(data, '$.id'), json_extract(data, '$.name'), "
        "json_extract(data, '$.output'), json_extract(data, '$.success') "
        "FROM messages WHERE kind = 'tool_result'"
    ).fetchone()
    assert row == ("call_1", "bash", "total 0", 1)


async def test_error_ends_the_row_with_its_category(db: Database, raw: sqlite3.Connection) -> None:
    _, _, recorder = await new_turn(db)
    await recorder.record(Start("claude-sonnet-4-5"))
    await recorder.record(TextDelta(0, "partial"))
    await recorder.record(Error("rate_limit", "Overloaded", 529, None))
    content, status, data = stored(raw, recorder.message_id)
    assert (content, status) == ("partial", "error")
    assert data["error_category"] == "rate_limit"
    assert data["error_message"] == "Overloaded"
    assert data["http_status"] == 529
    assert "retry_after_ms" not in data and "finish_reason" not in data


async def test_interrupt_keeps_what_arrived(db: Database, raw: sqlite3.Connection) -> None:
    clock = FakeClock()
    _, _, recorder = await new_turn(db, clock)
    await recorder.interrupt()
    assert recorder.message_id is None  # nothing arrived, nothing written
    await recorder.record(Start("claude-sonnet-4-5"))
    await recorder.record(ThinkingDelta(0, "hmm"))
    await recorder.record(TextDelta(1, "Once upon"))
    await recorder.interrupt()
    content, status, data = stored(raw, recorder.message_id)
    assert (content, status, data["thinking"]) == ("Once upon", "interrupted", "hmm")
    assert recorder.finished
    owners = raw.execute("SELECT count(*) FROM stream_owners").fetchone()[0]
    assert owners == 0


async def test_open_marks_rows_of_dead_writers_interrupted(db_path: Path) -> None:
    db = await Database.open(db_path)
    conversation = await db.create_conversation()
    live = await db.add_message(conversation, "assistant", "ours", status="streaming")
    orphan = await db.add_message(conversation, "assistant", "no owner", status="streaming")
    dead = await db.add_message(conversation, "assistant", "dead pid", status="streaming")
    await db.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("DELETE FROM stream_owners WHERE message_id = ?", (orphan,))
        conn.execute(
            "UPDATE stream_owners SET process = 'elsewhere:1:1' WHERE message_id = ?", (dead,)
        )

    async with await Database.open(db_path) as reopened:
        statuses = {m.id: (m.status, m.data) for m in await reopened.load_messages(conversation)}
    assert statuses[live] == ("streaming", {})  # this process is alive
    assert statuses[orphan] == ("interrupted", {"recovered": True})
    assert statuses[dead] == ("interrupted", {"recovered": True})


async def test_absorb_buffers_deltas_between_flushes(tmp_path: Path) -> None:
    """``absorb`` takes deltas without a write until the flush interval passes."""
    from ikigai.providers.events import Start, TextDelta, ThinkingDelta

    now = [100.0]
    db = await Database.open(tmp_path / "absorb.db")
    try:
        conversation = await db.create_conversation()
        recorder = TurnRecorder(db, conversation, clock=lambda: now[0])
        assert not recorder.absorb(TextDelta(0, "early"))  # no row yet: record() must run
        await recorder.record(Start("m"))
        assert recorder.absorb(TextDelta(0, "Hel"))
        assert recorder.absorb(ThinkingDelta(0, "hmm"))
        assert recorder.absorb(TextDelta(0, "lo"))
        stored = await db.get_message(recorder.message_id or 0)
        assert stored is not None and stored.content == ""
        now[0] += 0.3
        assert not recorder.absorb(TextDelta(0, "!"))  # a flush is due
        await recorder.record(TextDelta(0, "!"))
        stored = await db.get_message(recorder.message_id or 0)
        assert stored is not None
        assert (stored.content, stored.data["thinking"]) == ("Hello!", "hmm")
    finally:
        await db.close()
