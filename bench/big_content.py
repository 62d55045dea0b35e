"""Benchmark: big content stays responsive (key echo while it streams or opens).

The real ``ikigai`` runs in a 120x40 pseudo-terminal (``bench/pty_app.py``)
against the loopback fake server at full speed (Chat Completions format).
For each case a key is typed every 100 ms from Enter (or from the start of
the app, for the long conversation) until the content is on screen and one
more second; each latency runs from the write to the pseudo-terminal until
the typed character is written back by the app. Cases:

* a 3,000-row Markdown table (about 179 KB) in one answer, 4-character deltas;
* a 5,000-line fenced code block in one answer, 4-character deltas;
* a 10 MB answer (headings, lists, code, tables, paragraphs), 400-character
  deltas (2.5 million 4-character events would measure the provider, not the
  screen);
* a stored conversation of 100,000 messages opened at start-up
  (``--conversation``).

Target: key echo at most 200 ms (the max and p99 are reported, and the time
until the content's last line is on screen; the 10 MB answer is typed into
for at most ``HUGE_WINDOW`` seconds).

Run: ``.venv/bin/python bench/big_content.py [--quick] [--case NAME]``
(``--quick``: a tenth of each size, for a look while working; ``--case``: only
that case, one of ``table``, ``code``, ``huge``, ``conversation``, and may be
given more than once; the default is every case).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app_cpu import FIRST_FRAME, READY, SIZE, app_env  # noqa: E402
from pty_app import PtyApp, percentile  # noqa: E402
from tui_stream import answer  # noqa: E402

from tests.fakeserver import FakeServer, Reply, Text  # noqa: E402

KEY_INTERVAL = 0.1
HUGE_WINDOW = 60.0
"""Seconds of typing while the 10 MB answer streams and renders (it may take longer)."""
AFTER = 1.0
"""Seconds of typing after the content is on screen."""
CASES = ("table", "code", "huge", "conversation")
"""The cases ``--case`` chooses from, in the order they run."""


def table(rows: int) -> str:
    lines = ["Here is the table.", "", "| # | name | value | note |", "|---:|---|---:|---|"]
    lines += [
        f"| {n} | item-{n} | {n * 37 % 1000} | row {n} of the big table |" for n in range(rows)
    ]
    return "\n".join(lines) + "\n\nThat was the whole table.\n"


def code_block(lines: int) -> str:
    body = [f"value_{n} = compute({n}, scale={n % 7})  # line {n}" for n in range(lines)]
    return (
        "The listing:\n\n```python\n" + "\n".join(body) + "\n```\n\nThat was the whole listing.\n"
    )


def huge(chars: int) -> str:
    return answer(chars)


def run_case(
    name: str, server: FakeServer, workdir: Path, text: str, chunk: int, window: float = 120.0
) -> tuple[list[float], float | None]:
    """Stream ``text`` into a fresh app; the echo latencies and seconds until its last line
    (``None``: not on screen within ``window`` seconds, when the typing stops)."""
    print(f"{name}: {len(text):,} characters ...", file=sys.stderr, flush=True)
    last_line = text.rstrip("\n").rsplit("\n", 1)[1]
    app = PtyApp(_argv(server, workdir, name), env=app_env(workdir), size=SIZE, cwd=workdir)
    try:
        app.wait_for(FIRST_FRAME, 30, what="the first frame")
        app.wait_for(READY, 30, what="the welcome note")
        app.pump(0.5)
        server.enqueue(Reply(steps=[Text(text, chunk=chunk)]))
        seen: list[float] = []
        app.watch(last_line.encode(), seen.append)
        start = time.monotonic()
        app.type("go\r")
        app.pump(0.1)
        echoes = app.echo_latencies(interval=KEY_INTERVAL, until=_after(seen, AFTER), limit=window)
        return echoes, seen[0] - start if seen else None
    finally:
        app.stop()


def _after(seen: list[float], seconds: float) -> Callable[[], bool]:
    return lambda: bool(seen) and time.monotonic() > seen[0] + seconds


def _argv(server: FakeServer, workdir: Path, name: str, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "ikigai", "--model", "openai-chat/fake-model"]
    argv += ["--base-url", server.base_url("openai-chat"), "--db", str(workdir / f"{name}.db")]
    return [*argv, *extra]


def fill(db_path: Path, messages: int) -> int:
    """A stored conversation of ``messages`` alternating prompts and answers (one path)."""
    from ikigai.storage.repository import Database

    async def create() -> int:
        db = await Database.open(db_path)
        try:
            return await db.create_conversation("long")
        finally:
            await db.close()

    conversation = asyncio.run(create())
    connection = sqlite3.connect(db_path)
    with connection:
        parent: int | None = None
        for number in range(messages):
            user = number % 2 == 0
            content = (
                f"question {number}"
                if user
                else f"## Answer {number}\n\nSome *text* and a list:\n\n- one\n- two\n"
            )
            data = "{}" if user else '{"provider": "openai-chat", "model": "fake-model"}'
            cursor = connection.execute(
                "INSERT INTO messages(conversation_id, parent_id, kind, content, data, status)"
                " VALUES (?, ?, ?, ?, ?, 'complete')",
                (conversation, parent, "user" if user else "assistant", content, data),
            )
            parent = cursor.lastrowid
    connection.close()
    return conversation


def long_conversation(
    server: FakeServer, workdir: Path, messages: int
) -> tuple[list[float], float]:
    """Open a ``messages``-long conversation at start-up; echo latencies and seconds to its end."""
    print(f"conversation: filling {messages:,} messages ...", file=sys.stderr, flush=True)
    conversation = fill(workdir / "long.db", messages)
    last = f"Answer {messages - 1}".encode()
    argv = _argv(server, workdir, "long", "--conversation", str(conversation))
    app = PtyApp(argv, env=app_env(workdir), size=SIZE, cwd=workdir)
    try:
        app.wait_for(FIRST_FRAME, 30, what="the first frame")
        seen: list[float] = []
        app.watch(last, seen.append)
        echoes = app.echo_latencies(interval=KEY_INTERVAL, until=_after(seen, 3.0), limit=120)
        if not seen:
            raise SystemExit("the conversation's last answer never appeared")
        return echoes, seen[0] - app.started
    finally:
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of each size")
    parser.add_argument(
        "--case",
        action="append",
        choices=CASES,
        help="run only this case (may be repeated; default: every case)",
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    cases = set(args.case or CASES)
    results: dict[str, tuple[list[float], float | None]] = {}
    server = FakeServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="ikigai-bench-big-") as name:
            workdir = Path(name)
            (workdir / "config.toml").write_text("", encoding="utf-8")
            if "table" in cases:
                text = table(3000 // scale)
                label = f"table, {3000 // scale:,} rows ({len(text) // 1000} KB)"
                results[label] = run_case("table", server, workdir, text, 4)
            if "code" in cases:
                label = f"code block, {5000 // scale:,} lines"
                results[label] = run_case("code", server, workdir, code_block(5000 // scale), 4)
            if "huge" in cases:
                text = huge(10_000_000 // scale)
                label = f"answer of {len(text) / 1e6:.1f} MB"
                results[label] = run_case("huge", server, workdir, text, 400, HUGE_WINDOW)
            if "conversation" in cases:
                label = f"conversation of {100_000 // scale:,} messages"
                results[label] = long_conversation(server, workdir, 100_000 // scale)
    finally:
        server.stop()
    print(f"key echo (a key every {KEY_INTERVAL * 1000:.0f} ms) in a {SIZE[0]}x{SIZE[1]} pty")
    for label, (echoes, shown) in results.items():
        where = f"on screen after {shown:5.1f} s" if shown is not None else "not on screen yet"
        print(
            f"  {label:34} {len(echoes):4} keys  median {statistics.median(echoes) * 1000:6.1f} ms"
            f"  p99 {percentile(echoes, 0.99) * 1000:6.1f} ms  max {max(echoes) * 1000:6.1f} ms"
            f"  · {where}"
        )
    print("target: key echo <= 200 ms")


if __name__ == "__main__":
    main()
