"""Run one tool call in a fresh interpreter and report it, for tests that may hang or bloat.

Usage: ``python -m tests.tools.run_tool NAME JSON_ARGUMENTS WORKDIR``. Prints a
JSON object with the result (``ok``, ``output``) and this process's peak
resident memory in KiB before and after the call. A test runs a call here
when the old behaviour would hang the test process for good (a
backtracking regex holds the GIL) or when it measures memory.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

from ikigai.engine.tools import ToolContext, execute


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    name, arguments, workdir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    context = ToolContext(cwd=workdir, env={"PATH": "/usr/bin:/bin"})
    before = _peak_kib()
    result = asyncio.run(execute(name, arguments, context))
    print(
        json.dumps(
            {"ok": result.ok, "output": result.output, "before": before, "peak": _peak_kib()}
        )
    )


if __name__ == "__main__":
    main()
