"""The concurrency planner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ikigai.engine.tools import plan_batches

Call = tuple[str, dict[str, Any]]


def test_read_only_calls_share_a_batch(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_read", {"path": "a"}),
        ("grep", {"regex": "x"}),
        ("glob", {"pattern": "*"}),
        ("file_read", {"path": "a"}),
    ]
    assert plan_batches(calls, workdir) == [[0, 1, 2, 3]]


def test_writes_to_different_paths_run_together(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_write", {"path": "a.txt", "content": ""}),
        ("file_edit", {"path": "b.txt", "old_string": "x", "new_string": "y"}),
        ("file_read", {"path": "c.txt"}),
    ]
    assert plan_batches(calls, workdir) == [[0, 1, 2]]


def test_same_path_writes_are_split_in_order(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_write", {"path": "a.txt", "content": ""}),
        ("file_edit", {"path": "./a.txt", "old_string": "x", "new_string": "y"}),
        ("file_edit", {"path": str(workdir / "a.txt"), "old_string": "y", "new_string": "z"}),
    ]
    assert plan_batches(calls, workdir) == [[0], [1], [2]]


def test_read_after_write_of_same_file_waits(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_read", {"path": "a.txt"}),
        ("file_write", {"path": "a.txt", "content": ""}),
        ("file_read", {"path": "a.txt"}),
        ("file_read", {"path": "b.txt"}),
    ]
    assert plan_batches(calls, workdir) == [[0], [1], [2, 3]]


def test_search_over_a_directory_conflicts_with_writes_inside_it(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_write", {"path": "src/a.py", "content": ""}),
        ("grep", {"regex": "x", "path": "docs"}),
        ("grep", {"regex": "x", "path": "src"}),
    ]
    assert plan_batches(calls, workdir) == [[0, 1], [2]]


def test_bash_runs_alone_in_order(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_read", {"path": "a"}),
        ("file_read", {"path": "b"}),
        ("bash", {"command": "make"}),
        ("bash", {"command": "make test"}),
        ("glob", {"pattern": "*"}),
    ]
    assert plan_batches(calls, workdir) == [[0, 1], [2], [3], [4]]


def test_unknown_tools_and_unplaceable_writes_run_alone(workdir: Path) -> None:
    calls: list[Call] = [
        ("file_read", {"path": "a"}),
        ("mystery", {}),
        ("file_write", {"content": "no path"}),
        ("file_read", {"path": "b"}),
    ]
    assert plan_batches(calls, workdir) == [[0], [1], [2], [3]]


def test_empty(workdir: Path) -> None:
    assert plan_batches([], workdir) == []
