"""Benchmark: the app's first frame against a minimal Textual app's, in a pseudo-terminal.

Each round starts, one after the other, the real ``ikigai`` (this worktree's
code, as its console script runs it, a fresh config and database) and a
minimal Textual app (one ``Static``) in a 120x40 pseudo-terminal
(``bench/pty_app.py``), and times from spawning the process until its first
frame is written to the terminal: for ikigai the status bar (its model
name), for the minimal app its one line of text. Textual's own import and first paint are
the floor; the figure is the median of the per-round ratios ikigai / minimal
(target: at most 1.3). The time until the conversation is open (the welcome
note, the footer's keys) is shown too: that part runs after the first frame.

Run: ``.venv/bin/python bench/startup_pty.py [--rounds 9]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app_cpu import READY, SIZE, app_env  # noqa: E402
from pty_app import PtyApp  # noqa: E402

MINIMAL = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal app ready")

Minimal().run()
"""
MINIMAL_FRAME = b"minimal app ready"
FIRST_FRAME = b"fake-model"
"""In the status bar, which the first frame paints."""
IKIGAI = "import sys; from ikigai.cli.main import main; sys.exit(main())"


def first_frame(
    argv: list[str], needle: bytes, workdir: Path, ready: bytes | None
) -> tuple[float, float]:
    """Seconds from spawn to ``needle`` on the terminal (and to ``ready``, if given)."""
    app = PtyApp(argv, env=app_env(workdir), size=SIZE, cwd=workdir)
    try:
        frame = app.wait_for(needle, 30, what="the first frame") - app.started
        opened = app.wait_for(ready, 30, what="ready") - app.started if ready else 0.0
        app.pump(0.2)
    finally:
        app.stop()
    return frame, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    ikigai: list[float] = []
    opened: list[float] = []
    minimal: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ikigai-bench-start-") as name:
        workdir = Path(name)
        ikigai_argv = [sys.executable, "-c", IKIGAI, "--model", "openai-chat/fake-model"]
        ikigai_argv += ["--db", str(workdir / "start.db")]
        minimal_argv = [sys.executable, "-c", MINIMAL]
        # Warm-up: bytecode, the config cache and the page cache for both.
        first_frame(ikigai_argv, FIRST_FRAME, workdir, READY)
        first_frame(minimal_argv, MINIMAL_FRAME, workdir, None)
        for _ in range(args.rounds):
            frame, ready = first_frame(ikigai_argv, FIRST_FRAME, workdir, READY)
            ikigai.append(frame)
            opened.append(ready)
            minimal.append(first_frame(minimal_argv, MINIMAL_FRAME, workdir, None)[0])
            time.sleep(0.1)
    ratio = statistics.median(i / m for i, m in zip(ikigai, minimal, strict=True))
    print(f"first frame in a {SIZE[0]}x{SIZE[1]} pseudo-terminal, {args.rounds} rounds (medians)")
    print(f"  minimal Textual app   {statistics.median(minimal) * 1000:6.0f} ms")
    print(f"  ikigai                {statistics.median(ikigai) * 1000:6.0f} ms")
    print(f"  ikigai conversation open {statistics.median(opened) * 1000:6.0f} ms")
    print(f"  paired ratio ikigai / minimal: {ratio:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
