"""Benchmarks of the full-screen app: startup to the first frame, and opening a long conversation.

    python bench/tui_startup.py [--runs 5] [--messages 10000]

1. Startup: a fresh interpreter runs ``ikigai`` (headless Textual driver, a
   temp config and database) and prints when the first frame is up; the
   parent measures from spawning the process to that line. Target < 0.5 s.
2. Opening a conversation of N messages in the running app (what the
   picker's Enter does): from the request to its last 50 messages painted.
   Target < 0.3 s.
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

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys
sys.path.insert(0, {root!r})
from ikigai.cli.main import build_parser
from ikigai.tui.launch import build_app
from ikigai.engine.config_loader import load_settings

args = build_parser().parse_args(["--model", "openai-chat/fake", "--db", {db!r}])
config, _ = load_settings(None)
app = build_app(config, args)

async def first_frame(pilot):
    print("FIRST_FRAME", flush=True)
    pilot.app.exit()

app.run(headless=True, size=(120, 40), auto_pilot=first_frame)
"""


def _env(tmp: Path) -> dict[str, str]:
    config = tmp / "config.toml"
    config.write_text('default_profile = "default"\n', encoding="utf-8")
    # Bytecode caching on, as for an installed ikigai.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        IKIGAI_CONFIG=str(config),
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        OPENAI_API_KEY="sk-bench",
    )
    return env


def startup(runs: int, tmp: Path) -> list[float]:
    """Seconds from spawning the process to the first frame, per run."""
    env = _env(tmp)
    code = CHILD.format(root=str(ROOT), db=str(tmp / "startup.db"))
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("FIRST_FRAME"):
                times.append(time.perf_counter() - start)
                break
        child.wait()
    return times


async def _fill(db_path: Path, count: int) -> int:
    from ikigai.storage.repository import Database

    db = await Database.open(db_path)
    try:
        conversation = await db.create_conversation("long")
        async with db.transaction():
            for number in range(count):
                if number % 2 == 0:
                    await db.add_message(conversation, "user", f"question {number}")
                else:
                    await db.add_message(
                        conversation,
                        "assistant",
                        f"## Answer {number}\n\nSome *text* and a list:\n\n- one\n- two\n",
                        data={"provider": "openai-chat", "model": "fake"},
                    )
        return conversation
    finally:
        await db.close()


async def open_long(count: int, tmp: Path) -> float:
    """Seconds to open a ``count``-message conversation in a running app.

    The app is started on a new conversation first (its start-up is the other
    benchmark); the clock runs from the request to open the stored
    conversation (what the picker's Enter does) until its last 50 messages are
    on screen and painted. Rebuilding the model context of every row continues
    after that, off the screen's path, and is reported separately.
    """
    os.environ.update(_env(tmp))
    sys.path.insert(0, str(ROOT))
    from ikigai.cli.main import build_parser
    from ikigai.engine.config_loader import load_settings
    from ikigai.tui.launch import build_app

    db_path = tmp / "long.db"
    conversation = await _fill(db_path, count)
    args = build_parser().parse_args(["--model", "openai-chat/fake", "--db", str(db_path)])
    config, _ = load_settings(None)
    app = build_app(config, args)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.ready.wait()
        await pilot.pause()
        start = time.perf_counter()
        opening = asyncio.create_task(app.show_conversation(conversation))
        while len(app.scrollback.messages()) < min(count, 50):  # noqa: ASYNC110 - widgets
            await asyncio.sleep(0.001)
        mounted = time.perf_counter() - start
        painted = asyncio.Event()
        app.call_after_refresh(painted.set)
        await painted.wait()
        shown = time.perf_counter() - start
        await opening
        context = time.perf_counter() - start
    print(
        f"  last 50 messages mounted {mounted:.3f} s, painted {shown:.3f} s; "
        f"model context of {count} rows "
        f"ready to send {context:.3f} s"
    )
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        times = startup(args.runs, tmp)
        print(
            f"startup to first frame: median {statistics.median(times):.3f} s, "
            f"min {min(times):.3f} s over {len(times)} runs (target < 0.5 s)"
        )
        elapsed = asyncio.run(open_long(args.messages, tmp))
        print(
            f"open a {args.messages}-message conversation in the running app: {elapsed:.3f} s "
            "to its last 50 messages on screen (target < 0.3 s)"
        )


if __name__ == "__main__":
    main()
