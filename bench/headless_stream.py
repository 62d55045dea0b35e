"""Benchmark: ``ikigai -p`` against a minimal httpx client on a long streamed answer.

The loopback fake server streams a 10,000-token answer (4 characters a delta,
Chat Completions format) at full speed. Each round times, from process start to
exit, one ``ikigai -p`` run (storing, the default), one with ``--no-store``
and one run of ``bench/reference_client.py``, one after the other so all see
the same machine conditions. ikigai runs this worktree's code the way its
console script does (``from ikigai.cli.main import main``). Reports each
command's median and the median of the per-round ratios ikigai / reference
(target: storing within 1.2x).

Run: ``.venv/bin/python bench/headless_stream.py [--rounds 11]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakeserver import FakeServer, Reply, Text  # noqa: E402

TOKENS = 10_000
DELTA = 4


def answer() -> str:
    words = [
        "streaming",
        "answers",
        "arrive",
        "quickly",
        "when",
        "the",
        "client",
        "stays",
        "out",
        "of",
        "the",
        "way",
    ]
    text = []
    length = 0
    i = 0
    while length < TOKENS * DELTA:
        word = words[i % len(words)] + (" " if i % 17 else "\n")
        text.append(word)
        length += len(word)
        i += 1
    return "".join(text)[: TOKENS * DELTA]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {result.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()

    text = answer()
    server = FakeServer()
    server.start()
    workdir = Path(tempfile.mkdtemp(prefix="ikigai-bench-"))
    # Bytecode caching on, as for anyone who installed ikigai: a developer shell
    # with PYTHONDONTWRITEBYTECODE would make every run recompile ikigai's
    # modules (the reference imports only precompiled site-packages).
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("IKIGAI_") and k != "PYTHONDONTWRITEBYTECODE"
        },
        "OPENAI_API_KEY": "bench",
        "IKIGAI_CONFIG": str(workdir / "config.toml"),
        "IKIGAI_DB": str(workdir / "bench.db"),
        "PYTHONPATH": str(ROOT),
    }
    (workdir / "config.toml").write_text("", encoding="utf-8")
    base = server.base_url("openai-chat")
    ikigai = [
        sys.executable,
        "-c",
        "import sys; from ikigai.cli.main import main; sys.exit(main())",
        "-p",
        "write",
        "--model",
        "openai-chat/fake-model",
        "--base-url",
        base,
    ]
    commands = {
        "ikigai -p (stored)": ikigai,
        "ikigai -p --no-store": [*ikigai, "--no-store"],
        "reference": [sys.executable, str(ROOT / "bench" / "reference_client.py"), base],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for command in commands.values():  # warm-up: bytecode and page caches
            server.enqueue(Reply(steps=[Text(text, chunk=DELTA)]))
            timed(command, env)
        for _ in range(args.rounds):
            for name, command in commands.items():
                server.enqueue(Reply(steps=[Text(text, chunk=DELTA)]))
                times[name].append(timed(command, env))
    finally:
        server.stop()
    reference = times["reference"]
    print(f"answer: {len(text):,} characters in {len(text) // DELTA:,} deltas of {DELTA}")
    print(f"rounds: {args.rounds}, medians from process start to exit")
    for name, values in times.items():
        ratio = statistics.median(v / r for v, r in zip(values, reference, strict=True))
        print(
            f"{name:22} {statistics.median(values) * 1000:7.1f} ms"
            f"  (min {min(values) * 1000:6.1f})  paired ratio {ratio:.2f}"
        )
    print("target: ikigai -p (stored) within 1.20x of the reference")


if __name__ == "__main__":
    main()
