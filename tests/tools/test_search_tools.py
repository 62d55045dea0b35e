"""glob and grep over a real directory tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext
from ikigai.engine.tools.walk import glob_regex, matches_glob
from tests.tools.helpers import call


@pytest.fixture
def tree(workdir: Path) -> Path:
    """A small project: sources, a nested package, a binary file and a .git directory."""
    (workdir / "src/pkg").mkdir(parents=True)
    (workdir / ".git").mkdir()
    files = {
        "README.md": "# Title\nTODO: write docs\n",
        "src/main.py": "import os\n\ndef main():\n    return 42  # TODO\n",
        "src/pkg/util.py": "def helper():\n    pass\n",
        "src/pkg/notes.txt": "nothing to do here\n",
        ".git/config": "TODO in git\n",
    }
    for index, (name, text) in enumerate(files.items()):
        path = workdir / name
        path.write_text(text)
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
    (workdir / "src/data.bin").write_bytes(b"TODO\x00\x01binary")
    return workdir


async def test_glob_recursive_newest_first(context: ToolContext, tree: Path) -> None:
    os.utime(tree / "src/main.py", (2_000_000, 2_000_000))
    result = await call("glob", context, pattern="**/*.py")
    assert result.ok
    assert result.output.splitlines() == ["src/main.py", "src/pkg/util.py"]


async def test_glob_with_path_and_no_match(context: ToolContext, tree: Path) -> None:
    inside = await call("glob", context, pattern="*.txt", path="src/pkg")
    assert inside.output.splitlines() == ["src/pkg/notes.txt"]
    none = await call("glob", context, pattern="*.rs")
    assert none.ok
    assert "No files match" in none.output


async def test_glob_skips_git(context: ToolContext, tree: Path) -> None:
    result = await call("glob", context, pattern="**/config")
    assert "No files match" in result.output


async def test_glob_caps_number_of_results(context: ToolContext, workdir: Path) -> None:
    for index in range(510):
        (workdir / f"f{index}.txt").write_text("")
    result = await call("glob", context, pattern="*.txt")
    lines = result.output.splitlines()
    assert len(lines) == 501
    assert lines[-1].startswith("[10 more files not shown")


async def test_glob_refuses_escaping_patterns(context: ToolContext, tree: Path) -> None:
    for pattern in ("../*", "/etc/*", "src/../../*"):
        result = await call("glob", context, pattern=pattern)
        assert not result.ok, pattern
        assert "pattern must" in result.output


async def test_grep_lists_path_line_text(context: ToolContext, tree: Path) -> None:
    result = await call("grep", context, regex="TODO")
    assert result.ok
    assert result.output.splitlines() == [
        "README.md:2: TODO: write docs",
        "src/main.py:4:     return 42  # TODO",
    ]


async def test_grep_glob_filter_and_path(context: ToolContext, tree: Path) -> None:
    by_name = await call("grep", context, regex=r"def \w+", glob="*.py")
    assert by_name.output.splitlines() == [
        "src/main.py:3: def main():",
        "src/pkg/util.py:1: def helper():",
    ]
    by_path = await call("grep", context, regex="def", path="src", glob="pkg/*.py")
    assert by_path.output.splitlines() == ["src/pkg/util.py:1: def helper():"]
    one_file = await call("grep", context, regex="import", path="src/main.py")
    assert one_file.output == "src/main.py:1: import os"


async def test_grep_no_match(context: ToolContext, tree: Path) -> None:
    result = await call("grep", context, regex="zzz")
    assert result.ok
    assert "No matches" in result.output


async def test_grep_invalid_regex(context: ToolContext, tree: Path) -> None:
    result = await call("grep", context, regex="def (")
    assert not result.ok
    assert "invalid regular expression 'def ('" in result.output


async def test_grep_output_is_capped(workdir: Path) -> None:
    context = ToolContext(cwd=workdir, output_cap=2000)
    (workdir / "many.txt").write_text("match me\n" * 5000)
    result = await call("grep", context, regex="match")
    assert result.ok
    assert len(result.output.encode()) <= 2000
    assert "[output truncated at" in result.output


def test_glob_translation() -> None:
    assert glob_regex("**/*.py").match("a.py")
    assert glob_regex("**/*.py").match("a/b/c.py")
    assert not glob_regex("*.py").match("a/b.py")
    assert glob_regex("src/**").match("src/x/y")
    assert glob_regex("f[0-9].txt").match("f7.txt")
    assert not glob_regex("f[!0-9].txt").match("f7.txt")
    assert glob_regex("a[b").match("a[b")
    assert matches_glob("deep/dir/x.py", "*.py")
    assert not matches_glob("deep/dir/x.py", "dir/*.py")
