"""Repository behaviour: conversations, messages, paging, search, export."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikigai.storage import Database, NotFoundError

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_titles_come_from_first_user_message_until_renamed(db: Database) -> None:
    conversation = await db.create_conversation()
    assert (await db.get_conversation(conversation)).title is None  # type: ignore[union-attr]
    await db.add_message(conversation, "system", "You are terse.")
    await db.add_message(conversation, "user", "\n\n   Plan a trip to Lisbon  \r\nfor three days")
    await db.add_message(conversation, "user", "Second question")
    summary = await db.get_conversation(conversation)
    assert summary is not None and summary.title == "Plan a trip to Lisbon"

    await db.rename_conversation(conversation, "  Lisbon  ")
    assert (await db.get_conversation(conversation)).title == "Lisbon"  # type: ignore[union-attr]
    await db.add_message(conversation, "user", "More")
    assert (await db.get_conversation(conversation)).title == "Lisbon"  # type: ignore[union-attr]

    await db.rename_conversation(conversation, None)
    summary = await db.get_conversation(conversation)
    assert summary is not None and summary.title == "Plan a trip to Lisbon"


async def test_long_first_line_is_cut_for_the_title(db: Database) -> None:
    conversation = await db.create_conversation()
    await db.add_message(conversation, "user", "x" * 500)
    summary = await db.get_conversation(conversation)
    assert summary is not None and summary.title == "x" * 100


async def test_list_conversations_newest_first_with_model_and_count(db: Database) -> None:
    first = await db.create_conversation()
    second = await db.create_conversation()
    await db.add_message(first, "user", "first")
    await db.add_message(first, "assistant", "a", data={"model": "old"})
    await db.add_message(second, "user", "second")
    await asyncio.sleep(0.002)  # activity times have millisecond resolution
    await db.add_message(first, "assistant", "b", data={"model": "new"})
    listed = await db.list_conversations()
    assert [c.id for c in listed] == [first, second]
    assert listed[0].model == "new"
    assert listed[0].message_count == 3
    assert listed[1].model is None
    assert listed[1].message_count == 1
    assert all(TIMESTAMP.match(c.created_at) and TIMESTAMP.match(c.updated_at) for c in listed)
    assert listed[0].updated_at >= listed[0].created_at
    assert await db.newest_conversation_id() == first
    assert [c.id for c in await db.list_conversations(limit=1, offset=1)] == [second]


async def test_newest_conversation_id_of_empty_database(db: Database) -> None:
    assert await db.newest_conversation_id() is None
    assert await db.list_conversations() == []


async def test_load_messages_pages_backwards_in_chronological_order(db: Database) -> None:
    conversation = await db.create_conversation()
    other = await db.create_conversation()
    ids = []
    for number in range(120):
        ids.append(await db.add_message(conversation, "user", f"message {number}"))
        await db.add_message(other, "user", f"noise {number}")
    last = await db.load_messages(conversation)
    assert [m.id for m in last] == ids[-50:]
    earlier = await db.load_messages(conversation, before_id=last[0].id)
    assert [m.id for m in earlier] == ids[20:70]
    earliest = await db.load_messages(conversation, before_id=earlier[0].id)
    assert [m.id for m in earliest] == ids[:20]
    assert await db.load_messages(conversation, before_id=earliest[0].id) == []
    assert all(TIMESTAMP.match(m.created_at) for m in last)


async def test_null_data_values_are_omitted(db: Database, raw: sqlite3.Connection) -> None:
    conversation = await db.create_conversation(data={"profile": "default", "note": None})
    message = await db.add_message(
        conversation, "assistant", "hi", data={"model": "m", "thinking": None, "n": 0}
    )
    stored = raw.execute("SELECT data FROM messages WHERE id = ?", (message,)).fetchone()[0]
    assert json.loads(stored) == {"model": "m", "n": 0}
    conv = raw.execute("SELECT data FROM conversations WHERE id = ?", (conversation,)).fetchone()
    assert json.loads(conv[0]) == {"profile": "default"}
    await db.update_message(message, data={"model": "m", "finish_reason": None})
    stored = raw.execute("SELECT data FROM messages WHERE id = ?", (message,)).fetchone()[0]
    assert json.loads(stored) == {"model": "m"}


async def test_update_message(db: Database) -> None:
    conversation = await db.create_conversation()
    message = await db.add_message(conversation, "assistant", "", status="streaming")
    await db.update_message(message, content="done", status="complete", data={"model": "m"})
    stored = await db.get_message(message)
    assert stored is not None
    assert (stored.content, stored.status, stored.data) == ("done", "complete", {"model": "m"})
    with pytest.raises(NotFoundError):
        await db.update_message(message + 100, content="x")


async def test_transaction_rolls_back_everything_on_error(db: Database) -> None:
    conversation = await db.create_conversation()
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.add_message(conversation, "user", "one")
            async with db.transaction():
                await db.add_message(conversation, "user", "two")
            raise RuntimeError("boom")
    assert await db.load_messages(conversation) == []


async def test_delete_cascades_to_messages_and_search(
    db: Database, raw: sqlite3.Connection
) -> None:
    keep = await db.create_conversation()
    gone = await db.create_conversation()
    await db.add_message(keep, "user", "zebra crossing")
    user = await db.add_message(gone, "user", "zebra stripes")
    await db.add_message(gone, "assistant", "zebras are striped", parent_id=user)
    assert len(await db.search("zebra")) == 3  # "zebras" matches the prefix too
    await db.delete_conversation(gone)
    assert [hit.conversation_id for hit in await db.search("zebra")] == [keep]
    count = raw.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (gone,))
    assert count.fetchone()[0] == 0
    raw.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    with pytest.raises(NotFoundError):
        await db.delete_conversation(gone)
    with pytest.raises(NotFoundError):
        await db.rename_conversation(gone, "x")


async def test_search_finds_words_prefixes_and_reports_context(db: Database) -> None:
    conversation = await db.create_conversation()
    await db.add_message(conversation, "user", "How do I configure the Raspberry Pi?")
    answer = await db.add_message(
        conversation, "assistant", "Edit config.txt on the boot partition of the Raspberry Pi."
    )
    await db.add_message(conversation, "user", "Thanks, unrelated")
    hits = await db.search("raspberry boot")
    assert [hit.message_id for hit in hits] == [answer]
    assert hits[0].title == "How do I configure the Raspberry Pi?"
    assert "**boot**" in hits[0].snippet and "**Raspberry**" in hits[0].snippet
    assert hits[0].kind == "assistant"
    assert {hit.message_id for hit in await db.search("raspb")} >= {answer}
    assert await db.search("café") == []
    await db.add_message(conversation, "user", "un café, s'il vous plaît")
    assert len(await db.search("cafe")) == 1
    assert await db.search("   ") == []
    assert len(await db.search("the", limit=1)) == 1


async def test_search_orders_by_relevance_or_newest(db: Database) -> None:
    conversation = await db.create_conversation()
    strong = await db.add_message(conversation, "user", "kiwi kiwi kiwi")
    weak = await db.add_message(
        conversation, "user", "kiwi is one word among many other words in this long text"
    )
    assert [hit.message_id for hit in await db.search("kiwi")] == [strong, weak]
    newest = await db.search("kiwi", order="newest")
    assert [hit.message_id for hit in newest] == [weak, strong]


async def test_search_sees_streaming_updates(db: Database) -> None:
    conversation = await db.create_conversation()
    message = await db.add_message(conversation, "assistant", "first draft", status="streaming")
    await db.update_message(message, content="final answer about volcanoes")
    assert await db.search("draft") == []
    assert [hit.message_id for hit in await db.search("volcanoes")] == [message]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=40))
async def test_search_never_fails_on_user_input(db: Database, query: str) -> None:
    hits = await db.search(query)
    assert isinstance(hits, list)


@pytest.mark.parametrize(
    "query",
    ['"', '""', "AND", "OR NOT", "a*b", "NEAR(a b)", "content:x", "^x", "(", "a) OR (b", "-x", "'"],
)
async def test_search_fts_operators_are_plain_words(db: Database, query: str) -> None:
    conversation = await db.create_conversation()
    await db.add_message(conversation, "user", f"literal {query} here")
    await db.search(query)
    hits = await db.search(f"literal {query}")
    assert len(hits) == 1


async def test_export_json_round_trips_metadata(db: Database) -> None:
    conversation = await db.create_conversation(title="Export me")
    user = await db.add_message(conversation, "user", "list files")
    assistant_data = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "thinking": "The user wants ls.",
        "tool_calls": [{"id": "toolu_1", "name": "bash", "arguments": '{"command": "ls"}'}],
        "input_tokens": 12,
        "output_tokens": 30,
        "provider_data": {"thinking_signature": "c2lnbmF0dXJl"},
    }
    answer = await db.add_message(
        conversation, "assistant", "", data=assistant_data, parent_id=user
    )
    await db.add_message(
        conversation,
        "tool_result",
        "a.txt",
        data={"id": "toolu_1", "name": "bash", "output": "a.txt", "success": True},
        parent_id=answer,
    )
    document = await db.export_json(conversation)
    assert json.loads(json.dumps(document)) == document
    assert document["conversation"]["title"] == "Export me"
    assert [m["kind"] for m in document["messages"]] == ["user", "assistant", "tool_result"]
    assert document["messages"][1]["data"] == assistant_data
    assert document["messages"][2]["data"]["success"] is True
    with pytest.raises(NotFoundError):
        await db.export_json(conversation + 1)


async def test_export_markdown_shows_thinking_tools_and_usage(db: Database) -> None:
    conversation = await db.create_conversation()
    await db.add_message(conversation, "user", "Run ls please")
    await db.add_message(
        conversation,
        "assistant",
        "Here you go",
        data={
            "model": "gpt-5",
            "thinking": "line one\nline two",
            "tool_calls": [{"id": "c1", "name": "bash", "arguments": '{"command": "ls"}'}],
            "input_tokens": 5,
            "output_tokens": 7,
        },
    )
    await db.add_message(
        conversation,
        "tool_result",
        "```\nfile\n```",
        data={"id": "c1", "name": "bash", "output": "```\nfile\n```", "success": False},
    )
    text = await db.export_markdown(conversation)
    assert text.startswith("# Run ls please\n")
    assert "## Assistant (gpt-5)" in text
    assert "> line one\n> line two" in text
    assert '```json\n{"command": "ls"}\n```' in text
    assert "_Tokens: input 5, output 7_" in text
    assert "## Tool result: bash" in text and "**failed**" in text
    assert "````\n```\nfile\n```\n````" in text


async def test_memory_database(tmp_path: object) -> None:
    async with await Database.open(":memory:") as db:
        conversation = await db.create_conversation()
        await db.add_message(conversation, "user", "in memory")
        assert len(await db.search("memory")) == 1


def expected_title(content: str) -> str | None:
    """The automatic title rule, written independently of the SQL."""
    whitespace = " \t\n\r"
    first_line = content.lstrip(whitespace).split("\n", 1)[0].strip(whitespace)
    return first_line[:100] or None


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.text(alphabet=st.sampled_from("ab é\t\n\r🙂x"), max_size=160))
async def test_automatic_title_rule(db: Database, content: str) -> None:
    conversation = await db.create_conversation()
    await db.add_message(conversation, "user", content)
    summary = await db.get_conversation(conversation)
    assert summary is not None
    assert summary.title == expected_title(content)
