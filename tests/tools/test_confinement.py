"""File tools stay inside the working directory and the extra roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext
from tests.tools.helpers import call


@pytest.mark.parametrize("tool", ["file_read", "file_write", "file_edit", "glob", "grep"])
async def test_every_file_tool_refuses_absolute_outside(
    tool: str, context: ToolContext, outside: Path
) -> None:
    arguments = {
        "file_read": {"path": str(outside / "secret.txt")},
        "file_write": {"path": str(outside / "secret.txt"), "content": "pwned"},
        "file_edit": {"path": str(outside / "secret.txt"), "old_string": "top", "new_string": "x"},
        "glob": {"pattern": "*", "path": str(outside)},
        "grep": {"regex": "secret", "path": str(outside)},
    }[tool]
    result = await call(tool, context, **arguments)
    assert not result.ok
    assert "outside the allowed directories" in result.output
    assert (outside / "secret.txt").read_text() == "top secret\n"


async def test_dotdot_escape_is_refused(context: ToolContext, outside: Path) -> None:
    result = await call("file_read", context, path="../outside/secret.txt")
    assert not result.ok
    assert "'../outside/secret.txt' resolves to" in result.output
    written = await call("file_write", context, path="sub/../../escape.txt", content="x")
    assert not written.ok
    assert not (outside.parent / "escape.txt").exists()


async def test_dotdot_inside_is_fine(context: ToolContext, workdir: Path) -> None:
    (workdir / "sub").mkdir()
    (workdir / "a.txt").write_text("inside\n")
    result = await call("file_read", context, path="sub/../a.txt")
    assert result.ok
    assert "inside" in result.output


async def test_symlink_pointing_outside_is_refused(
    context: ToolContext, workdir: Path, outside: Path
) -> None:
    (workdir / "link.txt").symlink_to(outside / "secret.txt")
    (workdir / "linkdir").symlink_to(outside)
    read = await call("file_read", context, path="link.txt")
    assert not read.ok
    assert "symlink" in read.output
    write = await call("file_write", context, path="linkdir/new.txt", content="x")
    assert not write.ok
    assert "symlink" in write.output
    assert not (outside / "new.txt").exists()
    edit = await call("file_edit", context, path="link.txt", old_string="top", new_string="x")
    assert not edit.ok
    assert (outside / "secret.txt").read_text() == "top secret\n"


async def test_search_tools_do_not_follow_links_outside(
    context: ToolContext, workdir: Path, outside: Path
) -> None:
    (workdir / "link.txt").symlink_to(outside / "secret.txt")
    (workdir / "linkdir").symlink_to(outside)
    (workdir / "own.txt").write_text("my secret\n")
    grep = await call("grep", context, regex="secret")
    assert grep.output == "own.txt:1: my secret"
    glob = await call("glob", context, pattern="**/*.txt")
    assert glob.output == "own.txt"


async def test_symlink_inside_roots_is_followed(context: ToolContext, workdir: Path) -> None:
    (workdir / "real.txt").write_text("real\n")
    (workdir / "alias.txt").symlink_to(workdir / "real.txt")
    result = await call("file_read", context, path="alias.txt")
    assert result.ok
    assert "real" in result.output


async def test_extra_roots_are_allowed(workdir: Path, outside: Path) -> None:
    context = ToolContext(cwd=workdir, extra_roots=(outside,))
    result = await call("file_read", context, path=str(outside / "secret.txt"))
    assert result.ok
    assert "top secret" in result.output


async def test_working_directory_reached_through_a_symlink(tmp_path: Path, workdir: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(workdir)
    context = ToolContext(cwd=alias)
    result = await call("file_write", context, path="x.txt", content="ok")
    assert result.ok
    assert (workdir / "x.txt").read_text() == "ok"


async def test_a_hard_link_to_a_file_outside_is_not_written(
    context: ToolContext, workdir: Path, outside: Path
) -> None:
    (workdir / "link.txt").hardlink_to(outside / "secret.txt")
    written = await call("file_write", context, path="link.txt", content="pwned")
    assert not written.ok
    assert "'link.txt' has 2 hard links" in written.output
    edited = await call("file_edit", context, path="link.txt", old_string="top", new_string="x")
    assert not edited.ok
    assert "'link.txt' has 2 hard links" in edited.output
    assert (outside / "secret.txt").read_text() == "top secret\n"


async def test_hard_links_inside_the_roots_are_refused_too(
    context: ToolContext, workdir: Path
) -> None:
    (workdir / "a.txt").write_text("same inode\n")
    (workdir / "b.txt").hardlink_to(workdir / "a.txt")
    result = await call("file_write", context, path="b.txt", content="changed")
    assert not result.ok
    assert (workdir / "a.txt").read_text() == "same inode\n"


async def test_file_symlinks_pointing_outside_are_not_written(
    context: ToolContext, workdir: Path, outside: Path
) -> None:
    (workdir / "link.txt").symlink_to(outside / "secret.txt")
    (workdir / "dangling.txt").symlink_to(outside / "created.txt")
    through_link = await call("file_write", context, path="link.txt", content="pwned")
    assert not through_link.ok
    assert "symlink" in through_link.output
    dangling = await call("file_write", context, path="dangling.txt", content="pwned")
    assert not dangling.ok
    assert "symlink" in dangling.output
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert not (outside / "created.txt").exists()


async def test_a_dangling_symlink_inside_the_roots_creates_its_target(
    context: ToolContext, workdir: Path
) -> None:
    (workdir / "alias.txt").symlink_to(workdir / "real.txt")
    result = await call("file_write", context, path="alias.txt", content="made")
    assert result.ok
    assert (workdir / "real.txt").read_text() == "made"
