"""The conversation tree on real SQLite files: paths, versions, leaves, forks, migration."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from ikigai.storage import Database
from ikigai.storage.migrations import MIGRATIONS
from ikigai.storage.migrator import migrate
from ikigai.storage.models import StoredMessage
from ikigai.storage.tree import LATEST_LEAF_SQL, PATH_BEFORE_SQL, PATH_SQL


async def _tree(db: Database) -> tuple[int, dict[str, int]]:
    """u1 → a1 → u2 → a2, with a1' (regenerated) and u2' → a2' (edited) beside them.

    ::

        u1 ─┬─ a1 ─┬─ u2 ── a2 ── (tool_call of a2)
            │      └─ u2' ── a2'
            └─ a1'
    """
    c = await db.create_conversation()
    ids: dict[str, int] = {}
    ids["u1"] = await db.add_message(c, "user", "first")
    ids["a1"] = await db.add_message(c, "assistant", "one", parent_id=ids["u1"])
    ids["u2"] = await db.add_message(c, "user", "second", parent_id=ids["a1"])
    ids["a2"] = await db.add_message(c, "assistant", "two", parent_id=ids["u2"])
    ids["call"] = await db.add_message(c, "tool_call", "{}", parent_id=ids["a2"])
    ids["a1'"] = await db.add_message(c, "assistant", "one again", parent_id=ids["u1"])
    ids["u2'"] = await db.add_message(c, "user", "second, edited", parent_id=ids["a1"])
    ids["a2'"] = await db.add_message(c, "assistant", "two again", parent_id=ids["u2'"])
    return c, ids


async def test_the_path_is_the_leaf_and_its_ancestors_with_attachments(db: Database) -> None:
    c, ids = await _tree(db)
    path = await db.path_messages(c, ids["a2"])
    assert [m.id for m in path] == [ids["u1"], ids["a1"], ids["u2"], ids["a2"], ids["call"]]
    edited = await db.path_messages(c, ids["a2'"])
    assert [m.content for m in edited] == ["first", "one", "second, edited", "two again"]
    assert [m.content for m in await db.path_messages(c, ids["a1'"])] == ["first", "one again"]
    # A leaf of another conversation, or none, is an empty path.
    other = await db.create_conversation()
    assert await db.path_messages(other, ids["a2"]) == []
    assert await db.path_messages(c, None) == []


async def test_path_pages_walk_up_from_the_leaf(db: Database) -> None:
    c = await db.create_conversation()
    parent = None
    made = []
    for number in range(7):
        parent = await db.add_message(c, "user", f"m{number}", parent_id=parent)
        made.append(parent)
    last = await db.path_messages(c, made[-1], limit=3)
    assert [m.content for m in last] == ["m4", "m5", "m6"]
    earlier = await db.path_messages(c, None, before_id=last[0].id, limit=3)
    assert [m.content for m in earlier] == ["m1", "m2", "m3"]
    first = await db.path_messages(c, None, before_id=earlier[0].id, limit=3)
    assert [m.content for m in first] == ["m0"] and first[0].parent_id is None


async def test_versions_of_nodes_and_of_roots(db: Database) -> None:
    c, ids = await _tree(db)
    second_root = await db.add_message(c, "user", "first, edited")
    versions = await db.versions(c, [ids["u1"], ids["a1"], ids["a1'"], ids["u2"], ids["a2"]])
    assert (versions[ids["u1"]].index, versions[ids["u1"]].count) == (1, 2)
    assert versions[ids["u1"]].siblings == (ids["u1"], second_root)
    assert (versions[ids["a1"]].index, versions[ids["a1"]].count) == (1, 2)
    assert (versions[ids["a1'"]].index, versions[ids["a1'"]].count) == (2, 2)
    assert versions[ids["u2"]].siblings == (ids["u2"], ids["u2'"])
    assert versions[ids["a2"]].count == 1
    assert versions[ids["a1"]].step(1) == ids["a1'"] and versions[ids["a1"]].step(-1) is None
    # Tool calls are attachments, never versions; other conversations' ids are ignored.
    assert ids["call"] not in await db.versions(c, [ids["call"]])
    other = await db.create_conversation()
    assert await db.versions(other, [ids["a1"]]) == {}


async def test_leaves_newest_latest_and_stored(db: Database, raw: sqlite3.Connection) -> None:
    c, ids = await _tree(db)
    assert await db.newest_leaf(c) == ids["a2'"]
    assert await db.latest_leaf(ids["u2"]) == ids["a2"]
    assert await db.latest_leaf(ids["a1"]) == ids["a2'"]
    assert await db.latest_leaf(ids["u1"]) == ids["a2'"]
    # Every new node becomes the stored leaf (a tool call does not); set_leaf moves it.
    assert await db.current_leaf(c) == ids["a2'"]
    await db.set_leaf(c, ids["a2"])
    assert await db.current_leaf(c) == ids["a2"]
    await db.add_message(c, "tool_call", "{}", parent_id=ids["a2"])
    assert await db.current_leaf(c) == ids["a2"]
    # A leaf that is not a node of this conversation is refused; a deleted leaf falls
    # back to the newest node.
    other = await db.create_conversation()
    foreign = await db.add_message(other, "user", "elsewhere")
    await db.set_leaf(c, foreign)
    assert await db.current_leaf(c) == ids["a2"]
    raw.execute("DELETE FROM messages WHERE id = ?", (ids["call"],))
    raw.execute("DELETE FROM messages WHERE id = ?", (ids["a2"],))
    assert await db.current_leaf(c) == ids["a2'"]


async def test_damaged_parent_links_end_a_walk_instead_of_looping(
    db: Database, raw: sqlite3.Connection
) -> None:
    c = await db.create_conversation()
    first = await db.add_message(c, "user", "first")
    second = await db.add_message(c, "assistant", "second", parent_id=first)
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("UPDATE messages SET parent_id = ? WHERE id = ?", (second, first))
    assert [m.id for m in await db.path_messages(c, second)] == [first, second]
    assert await db.latest_leaf(first) == second


def _plan(path: Path, sql: str, params: tuple[int, ...]) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]


async def test_tree_queries_use_indexes_not_scans(db: Database, db_path: Path) -> None:
    for sql, params in ((PATH_SQL, (1, 1, 10)), (PATH_BEFORE_SQL, (1, 1, 10))):
        plan = _plan(db_path, sql, params)
        assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in plan
        assert any("USING INDEX messages_by_parent" in step for step in plan)
        assert not any(step.startswith(("SCAN messages", "SCAN m ")) for step in plan), plan
    plan = _plan(db_path, LATEST_LEAF_SQL, (1,))
    assert any("USING INDEX messages_by_parent" in step for step in plan)
    assert not any(step.startswith("SCAN m") for step in plan), plan


async def test_fork_copies_the_path_and_remembers_its_origin(db: Database) -> None:
    c, ids = await _tree(db)
    mark = await db.add_message(c, "mark", "here", data={"label": "here"}, parent_id=ids["a2"])
    rewind = await db.add_message(
        c, "rewind", "here", data={"mark_id": mark, "label": "here"}, parent_id=mark
    )
    streaming = await db.add_message(c, "assistant", "half", status="streaming", parent_id=rewind)
    forked = await db.fork_conversation(c, streaming, title="Forked")
    copy = await db.path_messages(forked, await db.current_leaf(forked))
    original = await db.path_messages(c, streaming)
    assert [(m.kind, m.content) for m in copy] == [(m.kind, m.content) for m in original]
    assert [m.created_at for m in copy] == [m.created_at for m in original]
    assert not set(m.id for m in copy) & set(m.id for m in original)
    copied_rewind = next(m for m in copy if m.kind == "rewind")
    assert copied_rewind.data["mark_id"] == next(m.id for m in copy if m.kind == "mark")
    assert copy[-1].status == "interrupted"
    assert [m.parent_id for m in copy[1:] if m.kind != "tool_call"] == [
        m.id for m in copy[:-1] if m.kind != "tool_call"
    ]
    summary = await db.get_conversation(forked)
    assert summary is not None and summary.forked_from == c and summary.title == "Forked"
    # The original is untouched: still every branch.
    assert len(await db.all_messages(c)) == len(ids) + 3


async def test_export_current_path_or_every_branch(db: Database) -> None:
    c, ids = await _tree(db)
    await db.set_leaf(c, ids["a2"])
    current = await db.export_json(c, branches="current")
    assert current["branches"] == "current" and current["leaf_id"] == ids["a2"]
    assert [m["id"] for m in current["messages"]] == [
        ids["u1"],
        ids["a1"],
        ids["u2"],
        ids["a2"],
        ids["call"],
    ]
    everything = await db.export_json(c, branches="all")
    assert len(everything["messages"]) == len(ids)
    parents = {m["id"]: m["parent_id"] for m in everything["messages"]}
    assert parents[ids["a1'"]] == ids["u1"] and parents[ids["u2'"]] == ids["a1"]
    text = await db.export_markdown(c, branches="all")
    assert "## Branch 1 of 3 (current)" in text
    assert f"## Branch 2 of 3 (after message {ids['u1']})" in text
    assert f"## Branch 3 of 3 (after message {ids['a1']})" in text
    # Each branch shows only what is new in it, in order.
    second = text.split("## Branch 2 of 3")[1].split("## Branch 3 of 3")[0]
    assert "one again" in second and "first" not in second
    third = text.split("## Branch 3 of 3")[1]
    assert third.index("second, edited") < third.index("two again")
    path_text = await db.export_markdown(c, branches="current")
    assert "Branch" not in path_text and "one again" not in path_text
    assert f"_message {ids['a2']} · " in path_text


async def test_old_linear_conversations_become_single_paths(db_path: Path) -> None:
    """A database from before the tree: parentless prompts, marks and clears, tool
    results hanging off their answer, and a /retry answer whose parent is its prompt."""
    db_path.parent.mkdir(parents=True)
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        assert await migrate(conn, db_path, MIGRATIONS[:3]) == [
            "initial",
            "full_text_search",
            "stream_owners",
        ]
        await conn.execute(
            "INSERT INTO conversations(id, title, created_at, updated_at) "
            "VALUES (1, NULL, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'), "
            "(2, NULL, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')"
        )
        old = [
            # id, conversation, parent, kind, content, data
            (1, 1, None, "user", "list files", {}),
            (2, 1, 1, "assistant", "", {"tool_calls": [{"id": "t1", "name": "glob"}]}),
            (3, 1, 2, "tool_call", "{}", {"id": "t1", "name": "glob"}),
            (4, 1, 2, "tool_result", "a.txt", {"id": "t1", "name": "glob", "output": "a"}),
            (5, 2, None, "user", "other conversation", {}),
            (6, 1, 4, "assistant", "There is a.txt", {}),
            (7, 1, None, "mark", "m", {"label": "m"}),
            (8, 1, None, "user", "and now?", {}),
            (9, 1, 8, "assistant", "first try", {}),
            (10, 1, 8, "assistant", "second try", {}),
            (11, 1, None, "clear", "", {}),
            (12, 1, None, "user", "fresh", {}),
        ]
        for row_id, conversation, parent, kind, content, data in old:
            await conn.execute(
                "INSERT INTO messages(id, conversation_id, parent_id, kind, content, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row_id, conversation, parent, kind, content, json.dumps(data)),
            )
    async with await Database.open(db_path) as db:
        assert len(await db.all_messages(1)) == 11  # nothing lost
        assert await db.current_leaf(1) == 12
        path = await db.path_messages(1, 12)
        assert [m.id for m in path] == [1, 2, 3, 4, 6, 7, 8, 10, 11, 12]
        assert {m.id: m.parent_id for m in path} == {
            1: None,
            2: 1,
            3: 2,
            4: 2,
            6: 4,
            7: 6,
            8: 7,
            10: 8,
            11: 10,
            12: 11,
        }
        # The answer the /retry replaced stays, as the first version.
        versions = await db.versions(1, [10])
        assert versions[10].siblings == (9, 10)
        assert [m.id for m in await db.path_messages(2, await db.current_leaf(2))] == [5]


@pytest.mark.parametrize("applied", [1, 2, 3])
async def test_every_older_schema_migrates_to_the_tree(db_path: Path, applied: int) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await migrate(conn, db_path, MIGRATIONS[:applied])
    async with await Database.open(db_path) as db:
        c = await db.create_conversation()
        first = await db.add_message(c, "user", "hello")
        assert await db.current_leaf(c) == first


async def test_a_long_path_is_decoded_a_step_at_a_time_with_the_loop_going_on_between(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding 100,000 rows' JSON takes the best part of a second: a long path is decoded
    ``DECODE_STEP`` rows at a time, and a callback the loop was given when the decoding
    began has run before it ends."""
    from ikigai.storage import tree
    from tests.long_conversation import fill, text

    messages = 3 * tree.DECODE_STEP + 10
    conversation, leaf = await fill(db_path, messages)
    ran: list[int] = []
    seen_at_the_end: list[list[int]] = []
    decode = tree.message_from_row
    decoded = 0

    def noted(row: sqlite3.Row | tuple[object, ...]) -> StoredMessage:
        nonlocal decoded
        if decoded == 0:
            asyncio.get_running_loop().call_soon(ran.append, decoded)
        decoded += 1
        if decoded == messages:
            seen_at_the_end.append(list(ran))
        return decode(row)

    monkeypatch.setattr(tree, "message_from_row", noted)
    async with await Database.open(db_path) as db:
        path = await db.path_messages(conversation, leaf)
    assert seen_at_the_end == [[0]]
    assert [m.content for m in path] == [text(n) for n in range(messages)]
    assert path[1].data == {"provider": "openai-chat", "model": "gpt-4o"}


async def test_a_short_path_is_decoded_in_one_go(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page (or any path up to ``DECODE_STEP`` rows) costs a few milliseconds: it is
    decoded without giving the loop a turn."""
    from ikigai.storage import tree
    from tests.long_conversation import fill

    conversation, leaf = await fill(db_path, tree.DECODE_STEP)
    ran: list[bool] = []
    seen_at_the_end: list[bool] = []
    decode = tree.message_from_row
    decoded = 0

    def noted(row: sqlite3.Row | tuple[object, ...]) -> StoredMessage:
        nonlocal decoded
        if decoded == 0:
            asyncio.get_running_loop().call_soon(ran.append, True)
        decoded += 1
        if decoded == tree.DECODE_STEP:
            seen_at_the_end.append(bool(ran))
        return decode(row)

    monkeypatch.setattr(tree, "message_from_row", noted)
    async with await Database.open(db_path) as db:
        path = await db.path_messages(conversation, leaf)
    assert len(path) == tree.DECODE_STEP
    assert seen_at_the_end == [False]
