"""The headless branch contract over the loopback server: ``--from``, ``-c``, message ids,
``history ID``, ``export --all-branches``, and databases from before the tree."""

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
from tests.cli.headless_helpers import clean_env, run_ikigai
from tests.fakeserver import FakeServer, Reply, Text


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, OPENAI_API_KEY="sk-loopback")


def chat(server: FakeServer, *more: str) -> list[str]:
    return [
        "--model",
        "openai-chat/fake-model",
        "--base-url",
        server.base_url("openai-chat"),
        *more,
    ]


def sent(server: FakeServer, number: int = -1) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in server.requests[number].json["messages"]]


def stored_ids(stdout: bytes) -> dict[str, int]:
    """kind -> id of the ``stored`` lines of a JSONL run (one answer per run here)."""
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    return {e["kind"]: e["id"] for e in lines if e["type"] == "stored"}


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_from_continues_as_a_new_branch_and_c_follows_the_newest_branch(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    fake_server.enqueue(
        Reply([Text("a1")]), Reply([Text("a2")]), Reply([Text("b2")]), Reply([Text("b3")])
    )
    first = run_ikigai(["-p", "q1", "--output", "jsonl", *chat(fake_server)], env)
    assert first.returncode == 0, first.stderr
    ids = stored_ids(first.stdout)
    assert run_ikigai(["-p", "q2", "-c", *chat(fake_server)], env).returncode == 0
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]

    branch = run_ikigai(
        [
            "-p",
            "q2 again",
            "--from",
            str(ids["assistant"]),
            "--output",
            "jsonl",
            *chat(fake_server),
        ],
        env,
    )
    assert branch.returncode == 0, branch.stderr
    # The context is the path up to and including the message; nothing after it is sent.
    assert sent(fake_server) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 again")]
    new = stored_ids(branch.stdout)
    db = Path(env["IKIGAI_DB"])
    assert rows(
        db, "SELECT parent_id, conversation_id FROM messages WHERE id = ?", new["user"]
    ) == [(ids["assistant"], 1)]
    assert rows(db, "SELECT count(*) FROM conversations") == [(1,)]
    assert rows(db, "SELECT count(*) FROM messages WHERE content IN ('q2', 'a2')") == [(2,)]

    again = run_ikigai(["-p", "q3", "-c", *chat(fake_server)], env)
    assert again.returncode == 0, again.stderr
    assert sent(fake_server) == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2 again"),
        ("assistant", "b2"),
        ("user", "q3"),
    ]


def test_from_a_missing_message_is_one_line_and_exit_2(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    missing = run_ikigai(["-p", "x", "--from", "99", *chat(fake_server)], env)
    assert missing.returncode == 2
    assert missing.stderr.decode().splitlines() == [f"ikigai: no message 99 in {env['IKIGAI_DB']}"]
    fake_server.enqueue(Reply([Text("a1")]))
    assert run_ikigai(["-p", "q1", *chat(fake_server)], env).returncode == 0
    # A row whose conversation is gone (written with foreign keys off): no conversation.
    with sqlite3.connect(env["IKIGAI_DB"]) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("INSERT INTO messages(id, conversation_id, kind) VALUES (50, 77, 'user')")
    orphan = run_ikigai(["-p", "x", "--from", "50", *chat(fake_server)], env)
    assert orphan.returncode == 2
    assert orphan.stderr.decode().splitlines() == [
        f"ikigai: message 50 belongs to no conversation in {env['IKIGAI_DB']}"
    ]
    # A tool call is an attachment of its answer: continue from the answer instead.
    with sqlite3.connect(env["IKIGAI_DB"]) as conn:
        conn.execute(
            "INSERT INTO messages(id, conversation_id, parent_id, kind) "
            "VALUES (60, 1, 2, 'tool_call')"
        )
    attachment = run_ikigai(["-p", "x", "--from", "60", *chat(fake_server)], env)
    assert attachment.returncode == 2
    assert attachment.stderr.decode().splitlines() == [
        "ikigai: message 60 is a tool call; continue from the answer that made it (message 2)"
    ]
    not_a_number = run_ikigai(["-p", "x", "--from", "abc", *chat(fake_server)], env)
    assert not_a_number.returncode == 2
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize(
    "extra", [["-c"], ["--no-store"], ["--conversation", "1"]], ids=["c", "no-store", "conv"]
)
def test_from_cannot_be_combined_with_another_choice_of_conversation(
    fake_server: FakeServer, env: dict[str, str], extra: list[str]
) -> None:
    result = run_ikigai(["-p", "x", "--from", "1", *extra, *chat(fake_server)], env)
    assert result.returncode == 2
    assert len(result.stderr.decode().splitlines()) == 1
    assert b"--from" in result.stderr
    assert fake_server.requests == []
    app_only = run_ikigai(["--from", "1"], env)
    assert app_only.returncode == 2 and b"-p" in app_only.stderr


def _branched(fake_server: FakeServer, env: dict[str, str]) -> dict[str, int]:
    fake_server.enqueue(Reply([Text("a1")]), Reply([Text("a2")]), Reply([Text("b2")]))
    ids = stored_ids(run_ikigai(["-p", "q1", "--output", "jsonl", *chat(fake_server)], env).stdout)
    run_ikigai(["-p", "q2", "-c", *chat(fake_server)], env)
    run_ikigai(["-p", "other q2", "--from", str(ids["assistant"]), *chat(fake_server)], env)
    return ids


def test_export_holds_the_current_path_or_every_branch(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    ids = _branched(fake_server, env)
    current = run_ikigai(["export", "1", "--format", "json"], env)
    assert current.returncode == 0, current.stderr
    document = json.loads(current.stdout)
    assert document["branches"] == "current"
    assert [m["content"] for m in document["messages"]] == ["q1", "a1", "other q2", "b2"]
    out = tmp_path / "tree.json"
    tree = run_ikigai(["export", "1", "--format", "json", "--all-branches", "-o", str(out)], env)
    assert tree.returncode == 0, tree.stderr
    everything = json.loads(out.read_text())
    assert everything["branches"] == "all" and len(everything["messages"]) == 6
    parents = {m["content"]: m["parent_id"] for m in everything["messages"]}
    assert parents["q2"] == parents["other q2"] == ids["assistant"]
    markdown = run_ikigai(["export", "1", "--all-branches"], env).stdout.decode()
    assert "## Branch 1 of 2 (current)" in markdown
    assert f"## Branch 2 of 2 (after message {ids['assistant']})" in markdown
    assert markdown.index("other q2") < markdown.index("## Branch 2 of 2") < markdown.index("a2")
    plain = run_ikigai(["export", "1"], env).stdout.decode()
    assert "other q2" in plain and "a2" not in plain and "Branch" not in plain


def test_history_shows_message_ids_versions_and_forks(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    ids = _branched(fake_server, env)
    listing = run_ikigai(["history", "1"], env)
    assert listing.returncode == 0, listing.stderr
    lines = [line.split("\t") for line in listing.stdout.decode().splitlines()]
    assert [(line[2], line[4]) for line in lines] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "other q2"),
        ("assistant", "b2"),
    ]
    assert lines[1][0] == str(ids["assistant"]) and lines[2][1] == str(ids["assistant"])
    assert lines[2][3] == "2/2" and lines[0][3] == "-"
    tree = run_ikigai(["history", "1", "--all-branches"], env).stdout.decode().splitlines()
    assert len(tree) == 6
    found = run_ikigai(["history", "--search", "other"], env).stdout.decode()
    assert found.startswith("1\tq1\t") and found.rstrip().endswith(
        f"message {ids['assistant'] + 3}"
    )
    assert run_ikigai(["history", "7"], env).returncode == 2
    assert run_ikigai(["history", "--all-branches"], env).returncode == 2

    async def fork() -> None:
        async with await Database.open(env["IKIGAI_DB"]) as db:
            await db.fork_conversation(1, ids["assistant"])

    asyncio.run(fork())
    conversations = run_ikigai(["history"], env).stdout.decode().splitlines()
    newest = conversations[0]
    assert newest.startswith("2\t") and "2 messages (fork of 1)\t-\tq1" in newest


def test_an_old_database_continues_with_its_whole_history(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    db = Path(env["IKIGAI_DB"])

    async def old_database() -> None:
        async with aiosqlite.connect(db, isolation_level=None) as conn:
            await migrate(conn, db, MIGRATIONS[:3])
            await conn.execute(
                "INSERT INTO conversations(id, created_at, updated_at) "
                "VALUES (1, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')"
            )
            for row_id, parent, kind, content in [
                (1, None, "user", "old question"),
                (2, 1, "assistant", "old answer"),
                (3, None, "command", "/model x"),
                (4, None, "user", "second question"),
                (5, 4, "assistant", "second answer"),
            ]:
                await conn.execute(
                    "INSERT INTO messages(id, conversation_id, parent_id, kind, content) "
                    "VALUES (?, 1, ?, ?, ?)",
                    (row_id, parent, kind, content),
                )

    asyncio.run(old_database())
    fake_server.enqueue(Reply([Text("new answer")]))
    result = run_ikigai(["-p", "new question", "-c", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert sent(fake_server) == [
        ("user", "old question"),
        ("assistant", "old answer"),
        ("user", "second question"),
        ("assistant", "second answer"),
        ("user", "new question"),
    ]
    assert rows(db, "SELECT id, parent_id FROM messages ORDER BY id") == [
        (1, None),
        (2, 1),
        (3, 2),
        (4, 3),
        (5, 4),
        (6, 5),
        (7, 6),
    ]
