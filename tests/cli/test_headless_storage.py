"""``ikigai -p`` stores every run; ``history``, ``export``, continue, crash safety."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.cli.headless_helpers import clean_env, read_at_least, run_ikigai, start_ikigai
from tests.fakeserver import FakeServer, Reply, Text, Thinking

KEY = "sk-secret-loopback-key-0123456789"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path, OPENAI_API_KEY=KEY)


def chat(server: FakeServer, *more: str) -> list[str]:
    return [
        "--model",
        "openai-chat/fake-model",
        "--base-url",
        server.base_url("openai-chat"),
        *more,
    ]


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_run_is_stored_with_metadata(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(
        Reply(
            steps=[Thinking("pondering"), Text("Stored answer")],
            usage={"input_tokens": 11, "output_tokens": 22, "thinking_tokens": 5},
        )
    )
    result = run_ikigai(["-p", "remember me", *chat(fake_server), "--thinking", "high"], env)
    assert result.returncode == 0, result.stderr
    db = Path(env["IKIGAI_DB"])
    assert rows(db, "SELECT kind, content, status FROM messages ORDER BY id") == [
        ("user", "remember me", "complete"),
        ("assistant", "Stored answer", "complete"),
    ]
    meta = rows(
        db,
        "SELECT json_extract(data, '$.provider'), json_extract(data, '$.model'), "
        "json_extract(data, '$.thinking_level'), json_extract(data, '$.thinking'), "
        "json_extract(data, '$.input_tokens'), json_extract(data, '$.output_tokens'), "
        "json_extract(data, '$.thinking_tokens'), json_extract(data, '$.finish_reason') "
        "FROM messages WHERE kind = 'assistant'",
    )
    assert meta == [("openai-chat", "fake-model", "high", "pondering", 11, 22, 5, "stop")]
    nulls = rows(db, "SELECT count(*) FROM messages, json_each(messages.data) WHERE value IS NULL")
    assert nulls == [(0,)]
    assert KEY.encode() not in db.read_bytes()
    for extra in db.parent.glob(db.name + "-*"):
        assert KEY.encode() not in extra.read_bytes()


def test_continue_sends_the_history(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(Reply(steps=[Text("first answer")]), Reply(steps=[Text("second")]))
    assert run_ikigai(["-p", "first question", *chat(fake_server)], env).returncode == 0
    result = run_ikigai(["-p", "follow up", "-c", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert fake_server.requests[1].json["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "follow up"},
    ]
    db = Path(env["IKIGAI_DB"])
    assert rows(db, "SELECT count(*) FROM conversations") == [(1,)]


def test_conversation_id_and_unknown_id(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(
        Reply(steps=[Text("a")]), Reply(steps=[Text("b")]), Reply(steps=[Text("c")])
    )
    run_ikigai(["-p", "one", *chat(fake_server)], env)
    run_ikigai(["-p", "two", *chat(fake_server)], env)
    result = run_ikigai(["-p", "again", "--conversation", "1", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    contents = [m["content"] for m in fake_server.requests[2].json["messages"]]
    assert contents == ["one", "a", "again"]
    missing = run_ikigai(["-p", "x", "--conversation", "99", *chat(fake_server)], env)
    assert missing.returncode == 2
    assert b"no conversation 99" in missing.stderr


def test_no_store_writes_nothing(fake_server: FakeServer, env: dict[str, str]) -> None:
    fake_server.enqueue(Reply(steps=[Text("ephemeral")]))
    result = run_ikigai(["-p", "hi", "--no-store", *chat(fake_server)], env)
    assert result.returncode == 0, result.stderr
    assert not Path(env["IKIGAI_DB"]).exists()
    both = run_ikigai(["-p", "hi", "--no-store", "-c", *chat(fake_server)], env)
    assert both.returncode == 2


def test_history_and_export(fake_server: FakeServer, env: dict[str, str], tmp_path: Path) -> None:
    fake_server.enqueue(
        Reply(steps=[Thinking("mull"), Text("Paris is the capital.")]),
        Reply(steps=[Text("Berlin.")]),
    )
    run_ikigai(["-p", "Capital of France?", *chat(fake_server)], env)
    run_ikigai(["-p", "Capital of Germany?", *chat(fake_server)], env)
    listing = run_ikigai(["history"], env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.decode().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2\t") and lines[0].endswith("Capital of Germany?")
    assert "fake-model" in lines[0]
    found = run_ikigai(["history", "--search", "paris"], env)
    assert found.stdout.decode().startswith("1\tCapital of France?\t")
    assert "Paris" in found.stdout.decode()
    markdown = run_ikigai(["export", "1"], env)
    assert markdown.returncode == 0
    text = markdown.stdout.decode()
    assert "Capital of France?" in text and "Paris is the capital." in text and "mull" in text
    out = tmp_path / "conv.json"
    exported = run_ikigai(["export", "1", "--format", "json", "-o", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text())
    assert "Paris is the capital." in json.dumps(document)
    assert run_ikigai(["export", "7"], env).returncode == 2


def test_database_that_is_not_a_database(fake_server: FakeServer, env: dict[str, str]) -> None:
    db = Path(env["IKIGAI_DB"])
    db.write_bytes(b"this is a text file, not a database\n" * 100)
    before = db.read_bytes()
    result = run_ikigai(["-p", "hi", *chat(fake_server)], env)
    assert result.returncode == 2
    assert str(db).encode() in result.stderr
    assert db.read_bytes() == before
    assert fake_server.requests == []


def test_kill_9_mid_stream_keeps_the_partial_answer(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    answer = "A slow answer that will be cut short by a crash. " * 20
    fake_server.enqueue(Reply(steps=[Text(answer, chunk=4)], event_delay=0.02))
    db = Path(env["IKIGAI_DB"])
    process = start_ikigai(["-p", "tell me", *chat(fake_server)], env)
    try:
        streamed = read_at_least(process, 120)
        time.sleep(0.6)  # past the 250 ms flush interval, so the partial text is on disk
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert len(streamed) >= 120
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    listing = run_ikigai(["history"], env)  # opening the database recovers abandoned rows
    assert listing.returncode == 0, listing.stderr
    saved = rows(db, "SELECT kind, content, status FROM messages ORDER BY id")
    assert saved[0] == ("user", "tell me", "complete")
    kind, content, status = saved[1]
    assert (kind, status) == ("assistant", "interrupted")
    assert len(content) >= 100 and answer.startswith(content)


def test_unwritable_database_directory(fake_server: FakeServer, tmp_path: Path) -> None:
    target = tmp_path / "file-not-dir"
    target.write_text("x")
    env = clean_env(tmp_path, OPENAI_API_KEY=KEY, IKIGAI_DB=str(target / "sub" / "ikigai.db"))
    result = run_ikigai(["-p", "hi", *chat(fake_server)], env)
    assert result.returncode == 2
    assert str(target).encode() in result.stderr


def test_ctrl_c_stores_the_partial_answer_and_exits_130(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    answer = "Words that arrive slowly enough to be interrupted by the user. " * 10
    fake_server.enqueue(Reply(steps=[Text(answer, chunk=4)], event_delay=0.02))
    process = start_ikigai(["-p", "go", *chat(fake_server)], env)
    read_at_least(process, 60)  # the answer has begun
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in stderr
    assert b"interrupted" in stderr
    db = Path(env["IKIGAI_DB"])
    kind, content, status = rows(db, "SELECT kind, content, status FROM messages ORDER BY id")[1]
    assert (kind, status) == ("assistant", "interrupted")
    assert content and answer.startswith(content)
