"""Benchmark: what streaming costs in the real app, in a real pseudo-terminal.

The real ``ikigai`` runs in a 120x40 pseudo-terminal (``bench/pty_app.py``)
against the loopback fake server's paced mode (Chat Completions format,
4-character deltas, one token each), storing to a fresh database. The app
process's CPU time comes from the OS (``/proc/PID/stat``, every thread).

* **CPU while streaming**: a Markdown answer (headings, lists, code, tables)
  at 100 tokens/s (4,000 tokens), ~400 tokens/s and ~2,000 tokens/s. The
  window runs from Enter to the answer's last line written to the terminal;
  the share is the app's CPU seconds over that window's seconds. At 2,000
  tokens/s the time from the server's first byte to the last line on screen
  is also given as a ratio to the time the server took to send the answer.
* **Key echo while streaming**: in separate runs at each rate a key is typed
  every 100 ms; each latency is from the write to the pseudo-terminal to the
  typed character written back by the app.
* **Idle**: CPU over 10 s with the finished conversation open (the prompt's
  cursor blinking, nothing else moving).

Targets: 100 tokens/s <= 10% of a core, 400 <= 30%, 2,000 <= 60% and on
screen within 1.3x the send time; key echo p99 <= 50 ms; idle <= 1%.

Run: ``.venv/bin/python bench/app_cpu.py [--quick]`` (``--quick``: shorter
answers, for a look while working; the README's figures are without it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pty_app import PtyApp, percentile  # noqa: E402
from tui_stream import LAST_LINE, answer  # noqa: E402

from tests.fakeserver import FakeServer, Reply, Text  # noqa: E402

DELTA = 4
SIZE = (120, 40)
FIRST_FRAME = b"Quit"
"""In the footer: the first frame is up."""
READY = b"Enter sends"
"""In the welcome note: the conversation is open."""
KEY_INTERVAL = 0.1
IDLE_SECONDS = 10.0


def app_env(workdir: Path) -> dict[str, str]:
    """The environment of an app run: a private config, data dirs and this worktree's code."""
    (workdir / "config.toml").write_text("", encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IKIGAI_", "XDG_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        IKIGAI_CONFIG=str(workdir / "config.toml"),
        XDG_DATA_HOME=str(workdir / "data"),
        XDG_CACHE_HOME=str(workdir / "cache"),
        XDG_STATE_HOME=str(workdir / "state"),
        OPENAI_API_KEY="bench",
        PYTHONPATH=str(ROOT),
    )
    return env


def start_app(server: FakeServer, workdir: Path, *extra: str) -> PtyApp:
    """The app in a pseudo-terminal, its conversation open and its first frame painted."""
    argv = [sys.executable, "-m", "ikigai", "--model", "openai-chat/fake-model"]
    argv += ["--base-url", server.base_url("openai-chat"), "--db", str(workdir / "bench.db")]
    app = PtyApp([*argv, *extra], env=app_env(workdir), size=SIZE, cwd=workdir)
    app.wait_for(FIRST_FRAME, 30, what="the first frame")
    app.wait_for(READY, 30, what="the welcome note")
    app.pump(0.5)
    return app


@dataclass
class Streamed:
    """One answer streamed into the app."""

    wall: float
    """Seconds from Enter to the last line on screen."""
    cpu: float
    """The app's CPU seconds over that window."""
    send: float
    """Seconds the server took to send the answer (first to last body byte)."""
    on_screen: float
    """Seconds from the server's first body byte to the last line on screen."""
    echoes: list[float]

    @property
    def share(self) -> float:
        return self.cpu / self.wall


def numbered(text: str, number: int) -> str:
    """``text`` with a last line no earlier answer has (an earlier one may be repainted)."""
    last = f"{LAST_LINE[:-1]}, number {number}."
    return text.removesuffix(LAST_LINE + "\n") + last + "\n"


def stream_once(app: PtyApp, server: FakeServer, text: str, pace: float, keys: bool) -> Streamed:
    """Send a prompt, stream ``text`` at ``pace`` deltas/s; measure until its last line shows."""
    sent_before = len(server.streams)
    text = numbered(text, sent_before)
    last_line = text.rstrip("\n").rsplit("\n", 1)[1]
    server.enqueue(Reply(steps=[Text(text, chunk=DELTA)], pace=pace))
    seen: list[float] = []
    app.watch(last_line.encode(), seen.append)
    cpu0 = app.cpu()
    start = time.monotonic()
    app.type("go\r")
    echoes: list[float] = []
    if keys:
        app.pump(0.2)
        echoes = app.echo_latencies(
            interval=KEY_INTERVAL,
            until=lambda: bool(seen),
            limit=len(text) / DELTA / pace * 3 + 30,
        )
    limit = time.monotonic() + len(text) / DELTA / pace * 3 + 60
    while not seen:
        if time.monotonic() > limit:
            app.stop()
            raise SystemExit("the answer's last line never appeared")
        app.pump(0.05)
    cpu = app.cpu() - cpu0
    end = seen[0]
    while len(server.streams) <= sent_before:
        app.pump(0.01)
    timing = server.streams[-1]
    return Streamed(
        wall=end - start,
        cpu=cpu,
        send=timing.last_byte - timing.first_byte,
        on_screen=end - timing.first_byte,
        echoes=echoes,
    )


def idle_share(app: PtyApp, seconds: float) -> float:
    """The app's CPU share over ``seconds`` of doing nothing."""
    app.pump(2.0)
    cpu0 = app.cpu()
    start = time.monotonic()
    app.pump(seconds)
    return (app.cpu() - cpu0) / (time.monotonic() - start)


def run(rates: list[tuple[str, float, int]], key_tokens: dict[str, int]) -> None:
    server = FakeServer()
    server.start()
    results: dict[str, Streamed] = {}
    echoes: dict[str, list[float]] = {}
    idle = 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="ikigai-bench-cpu-") as name:
            workdir = Path(name)
            app = start_app(server, workdir)
            try:
                for label, pace, tokens in rates:
                    results[label] = stream_once(app, server, answer(tokens * DELTA), pace, False)
                    app.pump(1.0)
                idle = idle_share(app, IDLE_SECONDS)
                for label, pace, _ in rates:
                    text = answer(key_tokens[label] * DELTA)
                    echoes[label] = stream_once(app, server, text, pace, True).echoes
                    app.pump(1.0)
            finally:
                app.stop()
    finally:
        server.stop()

    print(f"the app in a {SIZE[0]}x{SIZE[1]} pseudo-terminal, {DELTA}-character deltas")
    print(f"{'rate':>16} {'tokens':>7} {'wall s':>7} {'CPU s':>7} {'share':>6}  on screen / send")
    for label, _pace, tokens in rates:
        result = results[label]
        print(
            f"{label:>16} {tokens:7,} {result.wall:7.2f} {result.cpu:7.2f} "
            f"{result.share:6.1%}  {result.on_screen:.2f} s / {result.send:.2f} s = "
            f"{result.on_screen / result.send:.2f}"
        )
    print("key echo while streaming (a key every 100 ms):")
    for label, _, _ in rates:
        values = echoes[label]
        if not values:
            print(f"{label:>16} no key echoed")
            continue
        print(
            f"{label:>16} {len(values):4} keys  median {statistics.median(values) * 1000:6.1f} ms"
            f"  p99 {percentile(values, 0.99) * 1000:6.1f} ms  max {max(values) * 1000:6.1f} ms"
        )
    print(f"idle with the conversation open: {idle:.2%} of a core over {IDLE_SECONDS:.0f} s")
    print(
        "targets: 100 tok/s <= 10%, 400 <= 30%, 2,000 <= 60% and on screen <= 1.3x send; "
        "echo p99 <= 50 ms; idle <= 1%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter answers")
    args = parser.parse_args()
    scale = 4 if args.quick else 1
    rates = [
        ("100 tok/s", 100.0, 4000 // scale),
        ("400 tok/s", 400.0, 4000 // scale),
        ("2,000 tok/s", 2000.0, 4000),
    ]
    key_tokens = {
        "100 tok/s": 1000 // scale,
        "400 tok/s": 4000 // scale,
        "2,000 tok/s": 20000 // scale,
    }
    run(rates, key_tokens)


if __name__ == "__main__":
    main()
