"""One-line descriptions of a tool call and its result, for people (not the model).

The headless run prints one on stderr per call (``tool file_read notes.txt: ok,
12 lines``) so a script user knows why the answer says what it says; the app
can use the same words. Arguments come from the model: shorten, never trust.
"""

from __future__ import annotations

import json
from typing import Any

_MAIN_ARGUMENT = ("path", "pattern", "command", "query", "url", "name")
_DENIED = "The user denied permission to run"


def call_summary(name: str, arguments: str, width: int = 60) -> str:
    """``file_read notes.txt``: the tool and its main argument, shortened to ``width``."""
    try:
        value: Any = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        value = None
    shown = ""
    if isinstance(value, dict):
        main = next((value[key] for key in _MAIN_ARGUMENT if isinstance(value.get(key), str)), None)
        if main is None and value:
            main = " ".join(f"{k}={v}" for k, v in value.items())
        shown = " ".join(str(main or "").split())
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    return f"{name} {shown}".rstrip()


def result_summary(name: str, ok: bool, output: str, *, headless: bool = False) -> str:
    """``ok, 12 lines`` / ``failed: <first line>`` / ``denied by policy (use --allow bash)``."""
    if not ok and output.startswith(_DENIED):
        if headless and "not allowed by the tool policy" in output:
            return f"denied by policy (use --allow {name})"
        return "denied"
    if ok:
        lines = output.count("\n") + (0 if output.endswith("\n") or not output else 1)
        return f"ok, {lines} line{'s' if lines != 1 else ''}"
    first = output.strip().splitlines()[0] if output.strip() else "no output"
    if len(first) > 100:
        first = first[:99] + "…"
    return f"failed: {first}"
