"""file_read, file_write and file_edit on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikigai.engine.tools import ToolContext, file_edit
from tests.tools.helpers import call


async def test_file_read_numbers_lines(context: ToolContext, workdir: Path) -> None:
    (workdir / "a.txt").write_text("alpha\nbeta\ngamma\n")
    result = await call("file_read", context, path="a.txt")
    assert result.ok
    assert result.output == "     1\talpha\n     2\tbeta\n     3\tgamma"


async def test_file_read_offset_and_limit(context: ToolContext, workdir: Path) -> None:
    (workdir / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    result = await call("file_read", context, path="n.txt", offset=4, limit=2)
    assert result.ok
    lines = result.output.splitlines()
    assert lines[:2] == ["     4\tline 4", "     5\tline 5"]
    assert lines[2] == "[more lines follow; continue with offset=6]"


async def test_file_read_offset_past_end(context: ToolContext, workdir: Path) -> None:
    (workdir / "short.txt").write_text("one\ntwo\n")
    result = await call("file_read", context, path="short.txt", offset=5)
    assert not result.ok
    assert "offset 5 is past the end" in result.output
    assert "2 lines" in result.output


async def test_file_read_empty_file(context: ToolContext, workdir: Path) -> None:
    (workdir / "empty.txt").write_text("")
    result = await call("file_read", context, path="empty.txt")
    assert (result.ok, result.output) == (True, "(empty file)")


async def test_file_read_refuses_binary(context: ToolContext, workdir: Path) -> None:
    (workdir / "blob.bin").write_bytes(b"\x89PNG\r\n\x00\x00\x01\x02")
    result = await call("file_read", context, path="blob.bin")
    assert not result.ok
    assert "binary file" in result.output


async def test_file_read_missing_and_directory(context: ToolContext, workdir: Path) -> None:
    missing = await call("file_read", context, path="nope.txt")
    assert not missing.ok
    assert "does not exist" in missing.output
    (workdir / "sub").mkdir()
    directory = await call("file_read", context, path="sub")
    assert not directory.ok
    assert "is a directory" in directory.output


async def test_file_read_stays_under_the_cap(workdir: Path) -> None:
    context = ToolContext(cwd=workdir, output_cap=1000)
    (workdir / "big.txt").write_text(("y" * 50 + "\n") * 1000)
    result = await call("file_read", context, path="big.txt")
    assert result.ok
    assert len(result.output.encode()) <= 1000
    lines = result.output.splitlines()
    # 58 bytes per numbered line; the note keeps the next offset exact.
    assert lines[-2].startswith("    15\t")
    assert lines[-1] == "[more lines follow; continue with offset=16]"


async def test_file_write_creates_parents(context: ToolContext, workdir: Path) -> None:
    result = await call("file_write", context, path="deep/er/new.txt", content="hi\r\nthere")
    assert result.ok
    assert result.output == "Created deep/er/new.txt (9 bytes)"
    assert (workdir / "deep/er/new.txt").read_bytes() == b"hi\r\nthere"


async def test_file_write_overwrites(context: ToolContext, workdir: Path) -> None:
    (workdir / "f.txt").write_text("old")
    result = await call("file_write", context, path="f.txt", content="new")
    assert result.ok
    assert result.output.startswith("Overwrote f.txt")
    assert (workdir / "f.txt").read_text() == "new"


async def test_file_write_refuses_directory(context: ToolContext, workdir: Path) -> None:
    (workdir / "d").mkdir()
    result = await call("file_write", context, path="d", content="x")
    assert not result.ok
    assert "is a directory" in result.output


async def test_file_edit_replaces_unique_match(context: ToolContext, workdir: Path) -> None:
    (workdir / "code.py").write_bytes(b"def f():\r\n    return 1\r\n")
    result = await call(
        "file_edit", context, path="code.py", old_string="return 1", new_string="return 2"
    )
    assert result.ok
    assert result.output == "Edited code.py"
    assert (workdir / "code.py").read_bytes() == b"def f():\r\n    return 2\r\n"


async def test_file_edit_ambiguous_match_says_how_many(context: ToolContext, workdir: Path) -> None:
    path = workdir / "dup.txt"
    path.write_text("x = 1\nx = 1\nx = 1\n")
    result = await call("file_edit", context, path="dup.txt", old_string="x = 1", new_string="y")
    assert not result.ok
    assert "occurs 3 times" in result.output
    assert "replace_all" in result.output
    assert path.read_text() == "x = 1\nx = 1\nx = 1\n"


async def test_file_edit_replace_all(context: ToolContext, workdir: Path) -> None:
    path = workdir / "dup.txt"
    path.write_text("x = 1\nx = 1\nz\n")
    result = await call(
        "file_edit", context, path="dup.txt", old_string="x = 1", new_string="y", replace_all=True
    )
    assert result.ok
    assert result.output == "Replaced 2 occurrences in dup.txt"
    assert path.read_text() == "y\ny\nz\n"


async def test_file_edit_not_found(context: ToolContext, workdir: Path) -> None:
    (workdir / "f.txt").write_text("hello\n")
    result = await call("file_edit", context, path="f.txt", old_string="Hello", new_string="x")
    assert not result.ok
    assert "not found" in result.output


async def test_file_edit_identical_strings(context: ToolContext, workdir: Path) -> None:
    (workdir / "f.txt").write_text("hello\n")
    result = await call("file_edit", context, path="f.txt", old_string="hello", new_string="hello")
    assert not result.ok
    assert "identical" in result.output


async def test_file_edit_empty_old_string(context: ToolContext, workdir: Path) -> None:
    (workdir / "f.txt").write_text("hello\n")
    result = await call("file_edit", context, path="f.txt", old_string="", new_string="x")
    assert not result.ok
    assert "must not be empty" in result.output


async def test_file_edit_missing_file(context: ToolContext) -> None:
    result = await call("file_edit", context, path="gone.txt", old_string="a", new_string="b")
    assert not result.ok
    assert "does not exist" in result.output


async def test_file_edit_refuses_non_utf8(context: ToolContext, workdir: Path) -> None:
    path = workdir / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    result = await call("file_edit", context, path="latin1.txt", old_string="caf", new_string="x")
    assert not result.ok
    assert "not valid UTF-8" in result.output
    assert path.read_bytes() == "café".encode("latin-1")


async def test_file_write_keeps_a_refused_file_intact(context: ToolContext, workdir: Path) -> None:
    (workdir / "a.txt").write_text("original\n")
    (workdir / "b.txt").hardlink_to(workdir / "a.txt")
    result = await call("file_write", context, path="a.txt", content="")
    assert not result.ok
    assert (workdir / "a.txt").read_text() == "original\n"  # not truncated before the check


async def test_file_edit_refuses_files_over_its_size_limit(
    context: ToolContext, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_edit, "MAX_EDIT_BYTES", 100)
    (workdir / "big.txt").write_text("x" * 101)
    result = await call("file_edit", context, path="big.txt", old_string="x", new_string="y")
    assert not result.ok
    assert "'big.txt' is 101 bytes; file_edit changes files up to 100 bytes" in result.output
    assert (workdir / "big.txt").read_text() == "x" * 101


async def test_file_edit_shrinks_and_grows_in_place(context: ToolContext, workdir: Path) -> None:
    path = workdir / "f.txt"
    path.write_text("alpha beta gamma\n")
    inode = path.stat().st_ino
    shrunk = await call("file_edit", context, path="f.txt", old_string="beta ", new_string="")
    assert shrunk.ok
    assert path.read_text() == "alpha gamma\n"
    grown = await call("file_edit", context, path="f.txt", old_string="alpha", new_string="A" * 50)
    assert grown.ok
    assert path.read_text() == "A" * 50 + " gamma\n"
    assert path.stat().st_ino == inode
