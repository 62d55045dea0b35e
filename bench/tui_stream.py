"""Benchmark: rendering a long streamed Markdown answer in the TUI.

The loopback fake server streams a 10,000-token Markdown answer (~40,000
characters: headings, lists, fenced code in several languages, tables,
paragraphs) at full speed in 4-character deltas, Chat Completions format.
Each measurement runs in its own subprocess (clean memory figures):

* ``ours``: an app whose worker feeds ikigai's real ``OpenAIChatProvider`` text
  deltas into ``StreamingMarkdown.append``, then ``finish()``.
* ``reference``: the same app shape with Textual's ``Markdown`` widget fed
  through ``Markdown.get_stream()`` (``write`` per delta, then ``stop``).

Both run headless at 120x40, the answer inside an anchored ``VerticalScroll``.
The clock starts just before the request and stops when the worker is done,
the screen has processed every pending message, animations are idle and one
more screen update has been forced (``pilot.wait_for_scheduled_animations``).
The run then checks, outside the clock, that the final frame shows the last
line of the answer and that nothing is left unrendered.

Memory: peak RSS (``ru_maxrss``) of each timing subprocess, and in one extra
subprocess per app the ``tracemalloc`` peak of the run (tracemalloc slows the
interpreter, so it is never timed).

Key latency: in separate runs, a thread "presses" a key every 50 ms while the
answer streams, the way a terminal driver does (``call_soon_threadsafe`` from
another thread); a binding records the time from the press to its handling.

Run: ``.venv/bin/python bench/tui_stream.py [--rounds 7]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding, BindingType  # noqa: E402
from textual.containers import VerticalScroll  # noqa: E402
from textual.widgets import Markdown  # noqa: E402

from ikigai.providers.http import ProviderOptions  # noqa: E402
from ikigai.providers.openai_chat import OpenAIChatProvider  # noqa: E402
from ikigai.providers.request import Message, Request  # noqa: E402
from ikigai.tui.widgets.markdown_stream import StreamingMarkdown  # noqa: E402
from tests.fakeserver import FakeServer, Reply, Text  # noqa: E402

TOKENS = 10_000
DELTA = 4
SIZE = (120, 40)
KEY_INTERVAL = 0.05
LAST_LINE = "That is the whole answer."

_CODE = {
    "python": (
        "def fibonacci(limit: int) -> list[int]:\n"
        '    """Numbers of the sequence below ``limit``."""\n'
        "    numbers = [0, 1]\n"
        "    while numbers[-1] + numbers[-2] < limit:\n"
        "        numbers.append(numbers[-1] + numbers[-2])\n"
        "    return numbers\n\n"
        "class Cache(dict[str, int]):\n"
        "    def hit(self, key: str) -> bool:\n"
        "        return key in self  # cheap membership test\n"
    ),
    "javascript": (
        "export async function fetchAll(urls) {\n"
        "  const responses = await Promise.all(urls.map((u) => fetch(u)));\n"
        "  return Promise.all(responses.map((r) => r.json()));\n"
        "}\n\n"
        "const total = [1, 2, 3].reduce((a, b) => a + b, 0);\n"
        "console.log(`total: ${total}`);\n"
    ),
    "rust": (
        "use std::collections::HashMap;\n\n"
        "fn word_count(text: &str) -> HashMap<&str, usize> {\n"
        "    let mut counts = HashMap::new();\n"
        "    for word in text.split_whitespace() {\n"
        "        *counts.entry(word).or_insert(0) += 1;\n"
        "    }\n"
        "    counts\n"
        "}\n"
    ),
    "sql": (
        "SELECT c.id, c.title, count(m.id) AS messages\n"
        "FROM conversations AS c\n"
        "JOIN messages AS m ON m.conversation_id = c.id\n"
        "WHERE m.kind = 'assistant'\n"
        "GROUP BY c.id\n"
        "ORDER BY messages DESC\n"
        "LIMIT 10;\n"
    ),
    "bash": (
        "set -euo pipefail\n"
        'for file in "$@"; do\n'
        '  if [[ -f "$file" ]]; then\n'
        '    wc -l "$file"\n'
        "  fi\n"
        "done\n"
    ),
}


def answer(size: int = TOKENS * DELTA) -> str:
    """A deterministic Markdown answer of exactly ``size`` characters, ending in ``LAST_LINE``."""
    languages = list(_CODE)
    parts: list[str] = []
    length = 0
    section = 0
    while length < size:
        language = languages[section % len(languages)]
        chunk = (
            f"## Section {section + 1}: {language} notes\n\n"
            f"This section explains **why** the `{language}` example below behaves as it does. "
            "Streaming renderers must keep up with *fast* models, so every paragraph here "
            "is long enough to wrap across several lines of a 120-column terminal, and it "
            "mentions [a link](https://example.com/docs) and some ~~struck~~ text.\n\n"
            "- first point: blocks that are complete are rendered once\n"
            "- second point: only the open block is rendered again\n"
            "  - nested detail with `inline code`\n"
            "- third point: width changes re-wrap everything\n\n"
            f"```{language}\n{_CODE[language]}```\n\n"
            "| Step | Cost | Notes |\n"
            "|------|-----:|-------|\n"
            f"| parse | {section * 3 + 1} ms | only the open tail |\n"
            f"| render | {section * 2 + 5} ms | per block, cached |\n"
            "| paint | 1 ms | visible lines only |\n\n"
            "> A quoted remark: measure first, then optimise what the numbers show.\n\n"
            "1. Ordered item one.\n"
            "2. Ordered item two, which is a little longer than the first.\n"
            "3. Ordered item three.\n\n"
        )
        parts.append(chunk)
        length += len(chunk)
        section += 1
    text = "".join(parts)[: size - len(LAST_LINE) - 7]
    # Close a code fence the cut left open, so the last line is a paragraph.
    fence = (
        "\n```\n" if sum(line.startswith("```") for line in text.split("\n")) % 2 else "\n\n\n\n\n"
    )
    return text + fence + "\n" + LAST_LINE + "\n"


def screen_text(app: App[Any]) -> str:
    """The plain text of the frame the compositor would paint now."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


class _BenchApp(App[None]):
    """Shared shape: one answer widget in an anchored scroll, a 'ping' key binding."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "ping", "ping")]

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.pressed: list[float] = []
        self.latencies: list[float] = []
        self.streaming = False

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).anchor()

    def action_ping(self) -> None:
        self.latencies.append(time.perf_counter() - self.pressed[len(self.latencies)])

    async def deltas(self) -> Any:
        provider = OpenAIChatProvider(ProviderOptions(base_url=self.base_url, api_key="bench"))
        request = Request(model="fake-model", messages=[Message.user("x")])
        async for event in provider.stream(request):
            if event.type == "text_delta":
                yield event.text
            elif event.type == "error":
                raise RuntimeError(f"stream failed: {event}")

    async def stream(self) -> None:
        raise NotImplementedError

    def rendered_all(self) -> bool:
        raise NotImplementedError


class OursApp(_BenchApp):
    """ikigai's ``StreamingMarkdown``."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown()

    async def stream(self) -> None:
        widget = self.query_one(StreamingMarkdown)
        self.streaming = True
        async for text in self.deltas():
            widget.append(text)
        widget.finish()
        # finish() renders in budgeted steps when the stream outran rendering: wait for them.
        while not widget._caught_up():  # noqa: ASYNC110 (the widget has no done event)
            await asyncio.sleep(0.001)
        self.streaming = False

    def rendered_all(self) -> bool:
        widget = self.query_one(StreamingMarkdown)
        return widget.finished and widget._caught_up() and widget._open is None


class ReferenceApp(_BenchApp):
    """Textual's ``Markdown`` through ``Markdown.get_stream``."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown()

    async def stream(self) -> None:
        stream = Markdown.get_stream(self.query_one(Markdown))
        self.streaming = True
        async for text in self.deltas():
            await stream.write(text)
        await stream.stop()
        self.streaming = False

    def rendered_all(self) -> bool:
        return bool(self.query_one(Markdown).source == answer())


def _press_keys(app: _BenchApp, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
    """Press 'x' every KEY_INTERVAL from another thread, as a terminal driver does."""
    while not stop.is_set():
        if app.streaming:
            app.pressed.append(time.perf_counter())
            loop.call_soon_threadsafe(app.post_message, events.Key("x", "x"))
        time.sleep(KEY_INTERVAL)


async def run_child(kind: str, base_url: str, keys: bool) -> dict[str, Any]:
    """One measured run in this process."""
    app: _BenchApp = OursApp(base_url) if kind == "ours" else ReferenceApp(base_url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        stop = threading.Event()
        presser = None
        if keys:
            presser = threading.Thread(
                target=_press_keys, args=(app, asyncio.get_running_loop(), stop), daemon=True
            )
            presser.start()
        start = time.perf_counter()
        app.run_worker(app.stream(), exclusive=True)
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        elapsed = time.perf_counter() - start
        stop.set()
        if presser is not None:
            presser.join()
            await pilot.pause()
        complete = app.rendered_all() and LAST_LINE in screen_text(app)
    return {
        "elapsed": elapsed,
        "complete": complete,
        "latencies": app.latencies,
        "pressed": len(app.pressed),
    }


def child_main(args: argparse.Namespace) -> None:
    if args.trace_memory:
        tracemalloc.start()
    result = asyncio.run(run_child(args.child, args.base_url, args.keys))
    if args.trace_memory:
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


def spawn(server: FakeServer, kind: str, *extra: str) -> dict[str, Any]:
    server.enqueue(Reply(steps=[Text(answer(), chunk=DELTA)]))
    command = [sys.executable, __file__, "--child", kind]
    command += ["--base-url", server.base_url("openai-chat"), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["complete"]:
        raise SystemExit(f"{kind} run did not render the whole answer")
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", choices=["ours", "reference"])
    parser.add_argument("--base-url")
    parser.add_argument("--keys", action="store_true")
    parser.add_argument("--trace-memory", action="store_true")
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    kinds = ["ours", "reference"]
    server = FakeServer()
    server.start()
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    rss: dict[str, list[int]] = {kind: [] for kind in kinds}
    try:
        for kind in kinds:  # warm-up: bytecode and page caches
            spawn(server, kind)
        for _ in range(args.rounds):
            for kind in kinds:
                result = spawn(server, kind)
                times[kind].append(result["elapsed"])
                rss[kind].append(result["maxrss_kib"])
        traced = {kind: spawn(server, kind, "--trace-memory")["traced_peak"] for kind in kinds}
        latency: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(3):
            for kind in kinds:
                latency[kind].extend(spawn(server, kind, "--keys")["latencies"])
    finally:
        server.stop()

    text = answer()
    print(f"answer: {len(text):,} characters in {len(text) // DELTA:,} deltas of {DELTA}")
    print(f"rounds: {args.rounds}, alternating; request -> last frame painted, medians")
    reference = statistics.median(times["reference"])
    for kind in kinds:
        median = statistics.median(times[kind])
        print(
            f"  {kind:10} {median * 1000:8.1f} ms  (min {min(times[kind]) * 1000:8.1f},"
            f" max {max(times[kind]) * 1000:8.1f})  ratio {median / reference:.3f}"
        )
    print("target: ours at most 0.2x the reference")
    print("memory: peak RSS of the process (median) / tracemalloc peak of the run")
    for kind in kinds:
        print(
            f"  {kind:10} {statistics.median(rss[kind]) / 1024:7.1f} MiB RSS"
            f"  {traced[kind] / 2**20:7.1f} MiB traced"
        )
    print(f"key latency: a key every {KEY_INTERVAL * 1000:.0f} ms while streaming, 3 runs each")
    for kind in kinds:
        values = latency[kind]
        if not values:
            print(f"  {kind:10} no key was pressed while streaming")
            continue
        print(
            f"  {kind:10} {len(values):4} keys  p95 {percentile(values, 0.95) * 1000:7.1f} ms"
            f"  max {max(values) * 1000:7.1f} ms"
        )
    print("target: no key waits more than 100 ms")


if __name__ == "__main__":
    main()
