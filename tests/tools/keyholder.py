"""A stand-in for the ikigai process in the key tests: holds a key, runs one bash call.

Usage: ``python -m tests.tools.keyholder protect|plain WORKDIR COMMAND``. The
key is in this process's environment from the start (as when ikigai is run
as ``OPENAI_API_KEY=... ikigai``). With ``protect`` it first calls
``protect_process()`` as ``cli.main`` does. COMMAND may contain ``{pid}``
(this process's pid). Prints a JSON object: the tool result, the protection
in force and whether this process's liveness token still works.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from ikigai.engine.hardening import protect_process
from ikigai.engine.tools import ToolContext, execute
from ikigai.storage.liveness import current_process_token, process_is_alive


async def _run(workdir: Path, command: str) -> dict[str, object]:
    context = ToolContext(cwd=workdir, secret_env_names=frozenset({"OPENAI_API_KEY"}))
    result = await execute("bash", json.dumps({"command": command, "timeout": 60}), context)
    return {"ok": result.ok, "output": result.output}


def main() -> None:
    mode, workdir, command = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    protection = protect_process().describe() if mode == "protect" else "none"
    outcome = asyncio.run(_run(workdir, command.replace("{pid}", str(os.getpid()))))
    outcome["protection"] = protection
    outcome["alive"] = process_is_alive(current_process_token())
    try:
        outcome["own_environ"] = "OPENAI_API_KEY=" in Path("/proc/self/environ").read_text()
    except OSError as error:
        outcome["own_environ"] = error.strerror
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
