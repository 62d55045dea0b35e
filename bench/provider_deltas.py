"""Benchmark: per-delta cost of a long answer in each wire format, over a real socket.

For each of the four wire formats, the answer is rendered once by the fake
server's renderer into recorded bytes, written to a file and served verbatim by
the fake server running in its own process (``python -m tests.fakeserver``), so
neither rendering nor the server's thread competes with the client for the
interpreter. The client is the real provider (``HttpProvider.stream``) consumed
the way the engine's accumulator does (text pieces appended to a list, joined
at the end).

Runs of the two sizes alternate, so both see the same machine conditions.
The cost per delta is the time from the first text delta to ``done`` divided by
the number of deltas after the first, so the request's round trip is not
spread over the deltas. A provider whose work per delta grows with the answer
(a string rebuilt on every delta) shows up as a ratio well above 1: the target
is a 200,000-delta answer costing at most 1.2 times as much per delta as a
10,000-delta one.

With ``--through headless`` the answer goes the whole way a headless run
takes it instead: the engine's ``Conversation`` (one accumulator per response,
the background storage writer on a real SQLite file) and the headless writer
printing the text (to ``/dev/null``), so the figure is what ``ikigai -p`` pays
per delta with storage on.

Run: ``.venv/bin/python bench/provider_deltas.py [--small 10000] [--large 200000]
[--rounds 5] [--formats openai-chat,openai,anthropic,google] [--through headless]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ikigai.providers.events import Done, TextDelta  # noqa: E402
from ikigai.providers.http import ProviderOptions, close_shared_client  # noqa: E402
from ikigai.providers.registry import create_provider  # noqa: E402
from ikigai.providers.request import Message, Request  # noqa: E402
from tests.fakeserver.base import RenderContext  # noqa: E402
from tests.fakeserver.script import Reply, Text  # noqa: E402
from tests.fakeserver.server import RENDERERS  # noqa: E402

FORMATS = ("openai-chat", "openai", "anthropic", "google")
DELTA = 4
MODEL = {
    "openai-chat": "gpt-4o",
    "openai": "gpt-4.1",
    "anthropic": "claude-x",
    "google": "gemini-x",
}
BASE = {"openai-chat": "/v1", "openai": "/v1", "anthropic": "", "google": ""}


def answer(deltas: int) -> str:
    """``deltas`` pieces of ``DELTA`` characters of plain prose."""
    words = ["streaming", "answers", "arrive", "quickly", "when", "the", "client"]
    words += ["stays", "out", "of", "the", "way"]
    text: list[str] = []
    length = 0
    i = 0
    while length < deltas * DELTA:
        word = words[i % len(words)] + (" " if i % 17 else "\n")
        text.append(word)
        length += len(word)
        i += 1
    return "".join(text)[: deltas * DELTA]


def render(fmt: str, text: str) -> bytes:
    """The whole stream of ``text`` in wire format ``fmt``, as the fake server sends it."""
    query = "alt=sse" if fmt == "google" else ""
    renderer = RENDERERS[fmt](RenderContext(1, "/", query))
    return b"".join(renderer.events(Reply(steps=[Text(text, chunk=DELTA)])))


class Server:
    """The fake server in a child process, serving one recorded stream forever."""

    def __init__(self, stream: bytes, workdir: Path, name: str) -> None:
        data = workdir / f"{name}.sse"
        data.write_bytes(stream)
        script = workdir / f"{name}.json"
        script.write_text(json.dumps([{"raw_file": str(data)}]), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakeserver", "--script", str(script), "--loop"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def one_run(fmt: str, url: str, deltas: int) -> float:
    """Seconds per delta of one streamed answer (first delta to done)."""
    options = ProviderOptions(base_url=url + BASE[fmt], api_key="bench-key", max_retries=0)
    provider = create_provider(fmt, options)
    request = Request(model=MODEL[fmt], messages=[Message.user("write")])
    pieces: list[str] = []
    first = 0.0
    finished = 0.0
    async for event in provider.stream(request):
        if type(event) is TextDelta:
            if not pieces:
                first = time.perf_counter()
            pieces.append(event.text)
        elif type(event) is Done:
            finished = time.perf_counter()
        elif event.type == "error":
            raise SystemExit(f"{fmt}: {event}")
    text = "".join(pieces)
    if len(text) != deltas * DELTA or not finished:
        raise SystemExit(f"{fmt}: got {len(text)} characters, expected {deltas * DELTA}")
    return (finished - first) / (len(pieces) - 1)


class _Discard(io.TextIOBase):
    """A stdout that takes text and keeps none (like /dev/null, without a file)."""

    def write(self, text: str) -> int:
        return len(text)


async def one_headless_run(fmt: str, url: str, deltas: int, workdir: Path) -> float:
    """Seconds per delta of one answer through the engine, storage and headless writer."""
    from ikigai.cli.headless import HeadlessWriter
    from ikigai.engine.conversation import Conversation
    from ikigai.engine.settings import Settings, resolve_run
    from ikigai.storage.repository import Database

    settings = Settings.from_data({"providers": {fmt: {"base_url": url + BASE[fmt]}}})
    run = resolve_run(
        settings, model=f"{fmt}/{MODEL[fmt]}", env={"BENCH_KEY": "k"}, require_key=False
    )
    run = replace(run, options=replace(run.options, api_key="bench-key", max_retries=0))
    db = await Database.open(workdir / f"headless-{fmt}-{deltas}.db")
    conversation = Conversation(settings, run, db=db, prompt_must_be_stored=True)
    sink = _Discard()
    writer = HeadlessWriter("text", sink, sys.stderr, sanitize=False)
    turn = conversation.send("write")
    count = 0
    first = finished = 0.0
    async for event in turn:
        writer(turn.response_number, event)
        if type(event) is TextDelta:
            if not count:
                first = time.perf_counter()
            count += 1
        elif type(event) is Done:
            finished = time.perf_counter()
    writer.finish()
    saved = await conversation.close(30)
    if count != deltas or not finished or not saved:
        raise SystemExit(f"{fmt}: {count} deltas (expected {deltas}), saved={saved}")
    return (finished - first) / (count - 1)


async def measure(
    fmt: str,
    urls: tuple[str, str],
    sizes: tuple[int, int],
    rounds: int,
    run: Callable[[str, str, int], Awaitable[float]],
) -> tuple[float, float]:
    """Median seconds per delta of the small and the large answer.

    The runs alternate (one large, then as many small ones as make the same
    number of deltas) so both sizes see the same machine conditions; one
    warm-up run of each comes first.
    """
    small, large = sizes
    repeat = max(1, large // small)
    for url, deltas in zip(urls, sizes, strict=True):
        await run(fmt, url, deltas)
    small_costs: list[float] = []
    large_costs: list[float] = []
    for _ in range(rounds):
        large_costs.append(await run(fmt, urls[1], large))
        for _ in range(repeat):
            small_costs.append(await run(fmt, urls[0], small))
    await close_shared_client()
    return statistics.median(small_costs), statistics.median(large_costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--through", choices=("provider", "headless"), default="provider")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    workdir = Path(tempfile.mkdtemp(prefix="ikigai-bench-deltas-"))
    if args.through == "headless":

        async def run(fmt: str, url: str, deltas: int) -> float:
            return await one_headless_run(fmt, url, deltas, workdir)
    else:
        run = one_run
    print(
        f"deltas of {DELTA} characters, through the {args.through}; medians over "
        f"{args.rounds} rounds (one large answer and the same number of deltas in small "
        "ones per round)"
    )
    print(f"{'format':12} {'small µs/delta':>15} {'large µs/delta':>15} {'ratio':>6}")
    worst = 0.0
    for fmt in formats:
        sizes = (args.small, args.large)
        servers = [Server(render(fmt, answer(n)), workdir, f"{fmt}-{n}") for n in sizes]
        try:
            urls = (servers[0].url, servers[1].url)
            small, large = asyncio.run(measure(fmt, urls, sizes, args.rounds, run))
        finally:
            for server in servers:
                server.stop()
        ratio = large / small
        worst = max(worst, ratio)
        print(f"{fmt:12} {small * 1e6:15.2f} {large * 1e6:15.2f} {ratio:6.2f}")
    print(f"worst ratio {worst:.2f} ({args.large:,} vs {args.small:,} deltas); target: <= 1.20")


if __name__ == "__main__":
    main()
