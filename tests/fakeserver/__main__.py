"""Run the fake server standalone: ``python -m tests.fakeserver --script FILE.json [--loop]``.

Prints the base URL on the first line of stdout (then one line per provider),
flushes, and serves until killed. Useful to point the real client at scripted
answers from a terminal.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tests.fakeserver.script import load_script
from tests.fakeserver.server import FakeServer


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the server, print its URL and wait for a signal."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakeserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", type=Path, help="JSON list of replies to serve in order")
    parser.add_argument("--loop", action="store_true", help="repeat the script forever")
    args = parser.parse_args(argv)

    replies = load_script(args.script) if args.script else []
    if args.loop and not replies:
        parser.error("--loop needs a non-empty --script")
    server = FakeServer(args.host, args.port, repeat=replies if args.loop else ())
    if not args.loop:
        server.enqueue(*replies)
    server.start()
    print(server.url, flush=True)
    for provider in ("openai", "openai-chat", "anthropic", "google"):
        print(f"{provider}: {server.base_url(provider)}", flush=True)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
