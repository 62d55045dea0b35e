"""grep and glob cannot be made to run away: linear-time matching, time limits, cancellation.

The catastrophic patterns run in a child interpreter: with a backtracking
engine they would hold the GIL for hours, and only a separate process can be
stopped then. Cancellation and time limits use a real sparse file of 200 GB
(one line of zeros after a text head; no disk used) that takes far longer
to scan than the test waits.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext
from tests.tools.helpers import call, run_in_child


def test_grep_with_a_catastrophic_pattern_finishes(workdir: Path) -> None:
    (workdir / "evil.txt").write_text("a" * 32 + "!\n")
    outcome = run_in_child("grep", workdir, timeout=60, regex="(a+)+$")
    assert outcome["ok"]
    assert outcome["output"].startswith("No matches for '(a+)+$'")


def test_glob_with_a_catastrophic_pattern_finishes(workdir: Path) -> None:
    (workdir / ("a" * 100)).write_text("")
    outcome = run_in_child("glob", workdir, timeout=60, pattern="*a" * 14 + "*b")
    assert outcome["ok"]
    assert outcome["output"].startswith("No files match")


@pytest.mark.parametrize(
    ("regex", "hint"),
    [
        ("foo(?=bar)", "lookahead is not supported"),
        ("(?<!x)foo", "lookbehind is not supported"),
        (r"(o)\1", "backreferences are not supported"),
        (r"foo\Z", r"write \z for the end of the text"),
    ],
)
async def test_patterns_re2_refuses_get_a_clear_error(
    regex: str, hint: str, context: ToolContext, workdir: Path
) -> None:
    (workdir / "a.txt").write_text("foobar\n")
    result = await call("grep", context, regex=regex)
    assert not result.ok
    assert f"invalid regular expression {regex!r}" in result.output
    assert hint in result.output


async def test_re2_syntax_still_covers_the_usual_patterns(
    context: ToolContext, workdir: Path
) -> None:
    (workdir / "a.py").write_text("def Main():\r\n    return 1\nclass X: pass\n")
    result = await call("grep", context, regex=r"(?i)^(DEF|class)\s+\w+")
    assert result.output.splitlines() == ["a.py:1: def Main():", "a.py:3: class X: pass"]
    crlf = await call("grep", context, regex=r"\(\):$")  # the \r of \r\n is not part of the line
    assert crlf.output == "a.py:1: def Main():"


@pytest.fixture
def endless(workdir: Path) -> Path:
    path = workdir / "endless.txt"
    with path.open("wb") as handle:
        handle.write(b"text\n" * 2000)
        handle.truncate(200 * 1024**3)
    return path


async def _new_thread(before: set[threading.Thread]) -> threading.Thread:
    for _ in range(1000):
        started = set(threading.enumerate()) - before
        if started:
            return started.pop()
        await asyncio.sleep(0.01)
    raise AssertionError("the tool never started a worker thread")


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("grep", {"regex": "never-there"}), ("file_read", {"path": "endless.txt", "offset": 3000})],
)
async def test_cancellation_stops_the_worker(
    tool: str, arguments: dict[str, object], context: ToolContext, endless: Path
) -> None:
    before = set(threading.enumerate())
    task = asyncio.create_task(call(tool, context, **arguments))
    worker = await _new_thread(before)
    await asyncio.sleep(0.2)  # well into the file
    assert worker.is_alive()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not worker.is_alive(), "the search went on after the cancellation"


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("grep", {"regex": "never-there"}), ("file_read", {"path": "endless.txt", "offset": 3000})],
)
async def test_every_call_is_bounded_by_the_tool_timeout(
    tool: str, arguments: dict[str, object], workdir: Path, endless: Path
) -> None:
    context = ToolContext(cwd=workdir, tool_timeout=0.5)
    before = set(threading.enumerate())
    result = await call(tool, context, **arguments)
    assert not result.ok
    assert result.output.startswith(f"{tool}: stopped after 0.5 s, the time limit for one call")
    assert not (set(threading.enumerate()) - before), "the worker outlived the time limit"


async def test_the_event_loop_keeps_running_during_a_search(
    context: ToolContext, endless: Path
) -> None:
    task = asyncio.create_task(call("grep", context, regex="never-there"))
    for _ in range(20):
        await asyncio.sleep(0.01)
    # Twenty turns of the loop went by while the search was still running.
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
