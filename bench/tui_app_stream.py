"""The whole app streaming the benchmark answer: bus, scrollback, recorder, SQLite.

``bench/tui_stream.py`` measures the Markdown widget against Textual's
``Markdown.get_stream()``; this runs the real ikigai app (every subscriber
of the bus, storage included) on the same 10,000-delta answer from the
loopback server, from Enter until the answer is complete and painted.
Compare its figure with the reference of ``tui_stream.py`` run in the same
session.

Run: ``.venv/bin/python bench/tui_app_stream.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


async def one_run(tmp: Path) -> float:
    """Seconds from Enter to the whole answer painted, in a fresh app."""
    from tui_stream import answer

    from tests.app.conftest import make_app
    from tests.fakeserver import FakeServer, Reply, Text

    text = answer()
    server = FakeServer()
    server.start()
    try:
        server.enqueue(Reply(steps=[Text(text, chunk=4)]))
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
            await pilot.wait_for_scheduled_animations()
            elapsed = time.perf_counter() - start
            shown = app.scrollback.last_answer()
            if shown is None or shown.copy_text != text:
                raise SystemExit("the answer on screen is not the answer sent")
            return elapsed
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            (tmp / "config.toml").write_text("", encoding="utf-8")
            os.environ.update(
                IKIGAI_CONFIG=str(tmp / "config.toml"),
                XDG_DATA_HOME=str(tmp),
                XDG_CACHE_HOME=str(tmp),
                OPENAI_API_KEY="bench",
            )
            times.append(asyncio.run(one_run(tmp)))
    print(
        f"whole app, Enter -> answer painted: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
