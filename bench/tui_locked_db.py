"""Benchmark: the screen does not wait on a database another process keeps locked.

The real app streams a 2,000-token answer (4-character deltas, full speed) from
the loopback server twice per round: once with the database free, once while
another process holds it locked (``BEGIN EXCLUSIVE``) for the whole answer.
Each time is from Enter to the whole answer painted. Rounds alternate the two
so both see the same machine conditions. Target: the locked run within 1.2
times the free one (storage runs beside the display, never in front of it).

Run: ``.venv/bin/python bench/tui_locked_db.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKENS = 2_000
DELTA = 4
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(3600)
"""


def answer() -> str:
    words = [
        "the",
        "answer",
        "streams",
        "to",
        "the",
        "screen",
        "while",
        "storage",
        "waits",
        "its",
        "turn",
    ]
    text = " ".join(words[i % len(words)] for i in range(TOKENS))
    return (text * 2)[: TOKENS * DELTA]


def start_locker(db: Path) -> subprocess.Popen[str]:
    """Another process holding ``db`` locked until it is killed."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    return locker


async def one_run(tmp: Path, *, locked: bool) -> float:
    """Seconds from Enter to the whole answer painted, in a fresh app."""
    from ikigai.storage.repository import Database
    from tests.app.conftest import make_app
    from tests.fakeserver import FakeServer, Reply, Text

    text = answer()
    db = tmp / "ikigai.db"
    await (await Database.open(db)).close()
    locker = start_locker(db) if locked else None
    server = FakeServer()
    server.start()
    try:
        server.enqueue(Reply(steps=[Text(text, chunk=DELTA)]))
        app = make_app(tmp, server.base_url("openai-chat"), clock=time.monotonic)
        async with app.run_test(size=(120, 40)) as pilot:
            await app.ready.wait()
            await pilot.press(*"go")
            start = time.perf_counter()
            await pilot.press("enter")
            while app.busy or app.scrollback.last_answer() is None:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            painted = asyncio.Event()
            app.call_after_refresh(painted.set)
            await painted.wait()
            elapsed = time.perf_counter() - start
            shown = app.scrollback.last_answer()
            if shown is None or shown.copy_text != text:
                raise SystemExit("the answer on screen is not the answer sent")
            if locked and app.conversation.storage_problem is None:
                await asyncio.sleep(1.5)  # the first attempt waits out the busy timeout
            if locked and app.conversation.storage_problem is None:
                raise SystemExit("the database was not locked during the answer")
            if locker is not None:
                locker.kill()
                locker.wait()
                locker = None
            return elapsed
    finally:
        server.stop()
        if locker is not None:
            locker.kill()
            locker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    free: list[float] = []
    held: list[float] = []
    for _ in range(args.rounds):
        for locked, times in ((False, free), (True, held)):
            with tempfile.TemporaryDirectory() as name:
                tmp = Path(name)
                (tmp / "config.toml").write_text("", encoding="utf-8")
                os.environ.update(
                    IKIGAI_CONFIG=str(tmp / "config.toml"),
                    XDG_DATA_HOME=str(tmp),
                    XDG_CACHE_HOME=str(tmp),
                    OPENAI_API_KEY="bench",
                )
                times.append(asyncio.run(one_run(tmp, locked=locked)))
    free_ms = statistics.median(free) * 1000
    held_ms = statistics.median(held) * 1000
    print(f"{TOKENS:,}-token answer, Enter -> painted, medians over {args.rounds} rounds")
    print(f"database free:   {free_ms:7.0f} ms")
    print(f"database locked: {held_ms:7.0f} ms")
    print(f"ratio {held_ms / free_ms:.2f} (target <= 1.20)")


if __name__ == "__main__":
    main()
