"""Compaction: manual and automatic, stored as a summary row, and everything that can go wrong."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ikigai.engine.compaction import (
    SUMMARY_HEADER,
    SUMMARY_SYSTEM,
    fit_for_summary,
    is_context_overflow,
    split_index,
    summary_message,
)
from ikigai.engine.conversation import Busy, CompactionError, ContextFull, ConversationError
from ikigai.engine.estimate import messages_tokens
from ikigai.engine.events import CompactionNotice, Notice
from ikigai.providers.events import Error
from ikigai.providers.request import Message, TextBlock, ToolCallBlock, ToolResultBlock
from ikigai.tui.widgets.message_views import error_advice
from tests.engine.helpers import rows, run_turn, settings_with
from tests.fakeserver import FakeServer, Fault, Raw, Reply, Text, http_error

MODEL = "openai-chat/fake-model"


def texts(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.role, m.text()) for m in messages]


def test_the_kept_part_starts_at_a_prompt() -> None:
    context = [
        Message.user("one"),
        Message(role="assistant", content=[ToolCallBlock("c1", "glob", "{}")]),
        Message(role="tool", content=[ToolResultBlock("c1", "glob", "a.py")]),
        Message(role="assistant", content=[TextBlock("done")]),
        Message.user("two"),
        Message(role="assistant", content=[TextBlock("ok")]),
    ]
    assert split_index(context, 1) == 4
    assert split_index(context, 2) == 0
    assert split_index(context, 5) == 0
    assert split_index(context, 0) == 6
    # A summary is not a prompt: it is never counted as a turn to keep.
    compacted = [summary_message("earlier"), *context[4:]]
    assert split_index(compacted, 1) == 1 and split_index(compacted, 2) == 1


def test_a_summary_request_that_is_too_big_is_shortened_then_cut() -> None:
    long = "x" * 40_000
    messages = [Message.user("first"), Message(role="assistant", content=[TextBlock(long)])] * 3
    fitted, left_out = fit_for_summary(messages, 5_000)
    assert left_out == 0 and messages_tokens(fitted) <= 5_000
    assert "characters left out of this summary request" in fitted[1].text()
    assert messages[1].text() == long  # the conversation itself is untouched
    fitted, left_out = fit_for_summary(messages, 120)
    assert left_out == 4 and fitted[0].text().startswith("[4 earlier messages are left out")


def test_context_overflow_errors_are_recognised() -> None:
    overflowing = [
        "HTTP 400: prompt is too long: 215000 tokens > 200000 maximum",
        "HTTP 400: This model's maximum context length is 128000 tokens. However, your "
        "messages resulted in 130000 tokens.",
        "HTTP 400: Your input exceeds the context window of this model.",
        "HTTP 400: The input token count (1200000) exceeds the maximum number of tokens "
        "allowed (1048576).",
        "the request exceeds the available context size",
    ]
    for message in overflowing:
        assert is_context_overflow(Error("invalid_arg", message, 400)), message
    assert not is_context_overflow(
        Error("rate_limit", "Request too large for gpt-4o on tokens per min (TPM)", 429)
    )
    assert not is_context_overflow(Error("invalid_arg", "HTTP 400: Invalid model name", 400))
    advice = error_advice(
        Error("invalid_arg", overflowing[0], 400), keys=(), base_url="x", provider="anthropic"
    )
    assert "/compact" in advice


async def three_turns(
    opened, tmp_path: Path, server: FakeServer, settings=None, notices=None, last_input=3_200
):
    """A stored conversation of three turns; the last response counts ``last_input`` + 2,000."""
    server.enqueue(
        Reply([Text("A" * 4_000)], usage={"input_tokens": 50, "output_tokens": 1_000}),
        Reply([Text("B" * 8_000)], usage={"input_tokens": 1_100, "output_tokens": 2_000}),
        Reply([Text("C" * 8_000)], usage={"input_tokens": last_input, "output_tokens": 2_000}),
    )
    conversation = await opened(tmp_path, server, MODEL, settings, notices=notices)
    for prompt in ("first question", "second question", "third question"):
        await run_turn(conversation.send(prompt))
    return conversation


async def test_compact_keeps_the_last_turns_and_stores_a_summary(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    notices: list[Notice] = []
    conversation = await three_turns(opened, tmp_path, fake_server, notices=notices)
    fake_server.enqueue(Reply([Text("The user asked three questions.")]), Reply([Text("Sure.")]))
    done = await conversation.compact("mention the letters")
    assert (done.summarized, done.kept_turns, done.auto) == (2, 2, False)
    assert done.summary == "The user asked three questions."
    summary_request = fake_server.requests[3].json
    assert summary_request["messages"][0] == {"role": "system", "content": SUMMARY_SYSTEM}
    assert [m["role"] for m in summary_request["messages"][1:]] == ["user", "assistant", "user"]
    assert "mention the letters" in summary_request["messages"][-1]["content"]
    assert summary_request["tool_choice"] == "none" and summary_request["tools"]
    live = conversation.context()
    assert texts(live)[0] == ("user", SUMMARY_HEADER + "The user asked three questions.")
    assert texts(live)[1:] == [
        ("user", "second question"),
        ("assistant", "B" * 8_000),
        ("user", "third question"),
        ("assistant", "C" * 8_000),
    ]
    assert isinstance(notices[-1], CompactionNotice) and notices[-1].compacted == done
    # The next request is the summary and the kept turns.
    await run_turn(conversation.send("fourth question"))
    sent = fake_server.requests[4].json["messages"]
    assert sent[0]["content"].startswith(SUMMARY_HEADER)
    assert "A" * 100 not in json.dumps(sent)
    conversation_id = conversation.id
    assert await conversation.close()

    db = tmp_path / "ikigai.db"
    kinds = [kind for (kind,) in rows(db, "SELECT kind FROM messages ORDER BY id")]
    assert kinds == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "summary",
        "user",
        "assistant",
    ]
    [(content, data)] = rows(db, "SELECT content, data FROM messages WHERE kind = 'summary'")
    data = json.loads(data)
    assert content == "The user asked three questions."
    assert (data["kept_turns"], data["summarized_messages"], data["auto"]) == (2, 2, False)
    assert data["instructions"] == "mention the letters" and data["model"] == "fake-model"
    # The originals stay stored and searchable.
    assert rows(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'first'") == [(1,)]

    # Opened again, the context is the same as it was live.
    again = await opened(tmp_path, fake_server, MODEL)
    assert conversation_id is not None
    await again.open(conversation_id)
    await again.ready()
    assert texts(again.context()) == texts(conversation.context())
    await again.close()


async def test_auto_compaction_makes_the_next_request_smaller(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(
        models={"fake-model": {"context_window": 12_000}}, context={"keep_turns": 1}
    )
    notices: list[Notice] = []
    conversation = await three_turns(
        opened, tmp_path, fake_server, settings, notices, last_input=7_000
    )
    # The last response counted 9,000 tokens; a 6,000-character prompt takes it past 85%.
    assert conversation.context_tokens() == 9_000
    fake_server.enqueue(Reply([Text("Summary of two turns.")]), Reply([Text("Answer.")]))
    prompt = "fourth " + "y" * 6_000
    await run_turn(conversation.send(prompt))
    summary_request, sent = fake_server.requests[3].json, fake_server.requests[4].json
    assert summary_request["messages"][0]["content"] == SUMMARY_SYSTEM
    assert [m["role"] for m in sent["messages"]] == ["user", "user", "assistant", "user"]
    assert sent["messages"][0]["content"].startswith(SUMMARY_HEADER)
    assert [m["content"][:5] for m in sent["messages"][1:]] == ["third", "CCCCC", "fourt"]
    without = len(json.dumps(fake_server.requests[2].json)) + 8_000 + len(prompt)
    assert len(json.dumps(sent)) < without - 10_000
    texts_said = [n.text for n in notices]
    assert "compacting the conversation first" in texts_said[0]
    assert texts_said[1].startswith("auto-compacted: 4 messages summarized, the last 1 turn kept")
    assert all(n.source == "context" for n in notices)
    assert await conversation.close()
    kinds = [k for (k,) in rows(tmp_path / "ikigai.db", "SELECT kind FROM messages ORDER BY id")]
    assert kinds.count("user") == 4 and kinds.count("assistant") == 4 and "summary" in kinds
    assert kinds.index("summary") == 6  # before the prompt that needed the room


async def test_without_auto_compaction_a_request_that_does_not_fit_is_refused(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(
        models={"fake-model": {"context_window": 10_000}}, context={"auto_compact": False}
    )
    conversation = await three_turns(opened, tmp_path, fake_server, settings)
    with pytest.raises(ContextFull, match=r"no longer fits .* /compact summarizes it"):
        await run_turn(conversation.send("z" * 20_000))
    assert len(fake_server.requests) == 3
    assert conversation.context_length == 6
    # Past the threshold but within the window: sent, no compaction.
    fake_server.enqueue(Reply([Text("fine")]))
    await run_turn(conversation.send("w" * 14_000))
    assert len(fake_server.requests) == 4 and conversation.context_length == 8
    assert await conversation.close()
    assert rows(tmp_path / "ikigai.db", "SELECT count(*) FROM messages WHERE kind = 'summary'") == [
        (0,)
    ]


async def test_a_prompt_larger_than_the_window_is_refused(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(models={"fake-model": {"context_window": 2_000}})
    conversation = await opened(tmp_path, fake_server, MODEL, settings, db=False)
    with pytest.raises(ContextFull, match="the prompt alone"):
        await run_turn(conversation.send("q" * 20_000))
    assert fake_server.requests == []
    await conversation.close()


@pytest.mark.parametrize(
    "failure",
    [http_error(429, retry_after="1"), Reply([Text("never")], fault=Fault("reset"))],
    ids=["rate-limited", "connection-reset"],
)
async def test_a_failed_summary_changes_nothing(
    tmp_path: Path, fake_server: FakeServer, failure: Reply, opened
) -> None:
    conversation = await three_turns(opened, tmp_path, fake_server)
    before = texts(conversation.context())
    fake_server.enqueue(failure)
    with pytest.raises(CompactionError, match="the conversation is unchanged"):
        await conversation.compact()
    assert texts(conversation.context()) == before
    assert conversation.compacting is False
    fake_server.enqueue(Reply([Text("still works")]))
    await run_turn(conversation.send("next"))
    assert await conversation.close()
    db = tmp_path / "ikigai.db"
    assert rows(db, "SELECT count(*) FROM messages WHERE kind = 'summary'") == [(0,)]
    assert rows(db, "SELECT count(*) FROM messages") == [(8,)]


async def test_auto_compaction_that_fails_is_said_and_the_request_still_goes(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(
        models={"fake-model": {"context_window": 10_000}}, context={"keep_turns": 1}
    )
    notices: list[Notice] = []
    conversation = await three_turns(opened, tmp_path, fake_server, settings, notices)
    fake_server.enqueue(http_error(500), Reply([Text("Answer anyway.")]))
    await run_turn(conversation.send("fourth " + "y" * 14_000))
    assert "auto-compaction did not happen: compaction failed" in notices[-1].text
    assert len(fake_server.requests[4].json["messages"]) == 7  # every message
    await conversation.close()


async def test_no_compaction_while_a_turn_runs_and_no_turn_while_compacting(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    conversation = await three_turns(opened, tmp_path, fake_server)
    fake_server.enqueue(Reply([Text("slow answer " * 20)], event_delay=0.05))
    turn = conversation.send("a slow one")
    running = asyncio.create_task(run_turn(turn))
    await fake_server.wait_for_requests_async(4)
    with pytest.raises(Busy):
        await conversation.compact()
    await running
    fake_server.enqueue(Reply([Text("summary")], delay=0.5), Reply([Text("after")]))
    compacting = asyncio.create_task(conversation.compact())
    await fake_server.wait_for_requests_async(5)
    assert conversation.compacting
    with pytest.raises(Busy, match="being compacted"):
        conversation.send("not now")
    with pytest.raises(Busy):
        await conversation.compact()
    await compacting
    await run_turn(conversation.send("now"))
    await conversation.close()


async def test_a_window_smaller_than_the_kept_turns_keeps_fewer(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    settings = settings_with(models={"fake-model": {"context_window": 6_000}})
    conversation = await three_turns(opened, tmp_path, fake_server, settings)
    fake_server.enqueue(Reply([Text("short summary")]))
    done = await conversation.compact()
    assert (done.kept_turns, done.reduced_from, done.summarized) == (1, 2, 4)
    assert "not 2: they did not fit the context window" in done.describe()
    assert texts(conversation.context())[1:] == [
        ("user", "third question"),
        ("assistant", "C" * 8_000),
    ]
    await conversation.close()


async def test_nothing_to_compact(tmp_path: Path, fake_server: FakeServer, opened) -> None:
    fake_server.enqueue(Reply([Text("only answer")]))
    conversation = await opened(tmp_path, fake_server, MODEL, db=False)
    await run_turn(conversation.send("only question"))
    with pytest.raises(ConversationError, match="nothing to compact"):
        await conversation.compact()
    assert len(fake_server.requests) == 1
    await conversation.close()


async def test_a_provider_overflow_error_is_classified(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    body = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 215000 tokens > 200000 maximum",
        },
    }
    fake_server.enqueue(http_error(400, body=body))
    conversation = await opened(tmp_path, fake_server, "anthropic/claude-sonnet-4-5", db=False)
    turn = conversation.send("hello")
    await run_turn(turn)
    assert turn.outcome is not None and turn.outcome.error is not None
    assert turn.outcome.error.category == "invalid_arg"
    assert is_context_overflow(turn.outcome.error)
    await conversation.close()


async def test_an_answer_cut_by_a_full_window_says_what_to_do(
    tmp_path: Path, fake_server: FakeServer, opened, fixtures_dir: Path
) -> None:
    recorded = (fixtures_dir / "anthropic" / "01_text_basic.sse").read_bytes()
    cut = recorded.replace(
        b'"stop_reason":"end_turn"', b'"stop_reason":"model_context_window_exceeded"'
    )
    assert cut != recorded
    fake_server.enqueue(Raw(cut))
    notices: list[Notice] = []
    conversation = await opened(
        tmp_path, fake_server, "anthropic/claude-sonnet-4-5", db=False, notices=notices
    )
    turn = conversation.send("hello")
    await run_turn(turn)
    assert turn.outcome is not None and turn.outcome.status == "complete"
    assert [n.text for n in notices] == [
        "the answer stopped because the context window is full: /compact summarizes the "
        "conversation (from a shell: ikigai -c -p /compact)"
    ]


async def test_nothing_else_may_change_the_conversation_while_it_is_compacted(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    conversation = await three_turns(opened, tmp_path, fake_server)
    # The summary arrives slowly: other verbs try their luck meanwhile.
    fake_server.enqueue(Reply([Text("SUMMARY")], fault=Fault("stall", 0, seconds=1.0)))
    compacting = asyncio.get_running_loop().create_task(conversation.compact())
    await fake_server.wait_for_requests_async(4, seconds=10)
    assert conversation.compacting
    for verb in (conversation.clear(), conversation.mark("x"), conversation.new()):
        with pytest.raises(Busy, match="being compacted"):
            await verb
    with pytest.raises(Busy, match="being compacted"):
        conversation.send("a prompt that would be neither summarized nor kept")
    compacted = await compacting
    assert compacted.summary == "SUMMARY"
    assert not conversation.compacting
    assert await conversation.close()
    kinds = [r[0] for r in rows(tmp_path / "ikigai.db", "SELECT kind FROM messages ORDER BY id")]
    assert kinds[-1] == "summary" and "clear" not in kinds and "mark" not in kinds
