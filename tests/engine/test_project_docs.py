"""AGENTS.md: which files, in which order, the cap, bad files, and the request."""

from __future__ import annotations

import os
from pathlib import Path

from ikigai.engine.project_docs import load
from tests.engine.helpers import run_turn, settings_with
from tests.fakeserver import FakeServer, Reply, Text


def repository(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repository with AGENTS.md at its root, in ``pkg`` and in ``pkg/deep``; and a user file."""
    root = tmp_path / "repo"
    deep = root / "pkg" / "deep"
    deep.mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "AGENTS.md").write_text("Run the tests with make test.", encoding="utf-8")
    (root / "pkg" / "AGENTS.md").write_text("pkg: keep the API stable.", encoding="utf-8")
    (deep / "AGENTS.md").write_text("deep: no new dependencies.", encoding="utf-8")
    user = tmp_path / "config" / "AGENTS.md"
    user.parent.mkdir()
    user.write_text("Answer briefly.", encoding="utf-8")
    return root, deep, user


def test_user_file_then_root_down_to_the_working_directory(tmp_path: Path) -> None:
    root, deep, user = repository(tmp_path)
    docs = load(deep, 32_768, user)
    assert [part.path for part in docs.parts] == [
        user,
        root / "AGENTS.md",
        root / "pkg" / "AGENTS.md",
        deep / "AGENTS.md",
    ]
    text = docs.prompt_text()
    assert text is not None
    assert text.index("Answer briefly.") < text.index("make test") < text.index("deep: no new")
    assert docs.problems == ()


def test_outside_a_repository_only_the_working_directory_counts(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("parent rules", encoding="utf-8")
    here = tmp_path / "here"
    here.mkdir()
    (here / "AGENTS.md").write_text("local rules", encoding="utf-8")
    docs = load(here, 32_768, tmp_path / "none" / "AGENTS.md")
    assert [part.text for part in docs.parts] == ["local rules"]


def test_the_cap_cuts_with_a_note(tmp_path: Path) -> None:
    _, deep, user = repository(tmp_path)
    user.write_text("é" * 20, encoding="utf-8")  # 40 bytes
    docs = load(deep, 45, user)
    assert docs.parts[0].text == "é" * 20
    # 5 bytes are left for the root file; the cut never splits a character.
    assert docs.parts[1].text == "Run t" and docs.parts[1].truncated
    assert len(docs.parts) == 2
    assert docs.left_out_bytes > 0
    assert "bytes left out" in docs.problems[0] and "project_docs_max_bytes" in docs.problems[0]
    text = docs.prompt_text()
    assert text is not None and "more bytes of AGENTS.md instructions were left out" in text
    cut = load(deep, 39, user)  # one byte of a two-byte character fits: it is left out whole
    assert cut.parts[0].text == "é" * 19 and cut.parts[0].truncated


def test_a_file_that_is_not_utf8_or_not_a_file_is_left_out(tmp_path: Path) -> None:
    root, deep, user = repository(tmp_path)
    (root / "pkg" / "AGENTS.md").write_bytes(b"caf\xe9 rules")
    (deep / "AGENTS.md").unlink()
    os.mkfifo(deep / "AGENTS.md")  # would block a reader forever
    docs = load(deep, 32_768, user)
    assert [part.path for part in docs.parts] == [user, root / "AGENTS.md"]
    assert any("is not UTF-8 text" in p for p in docs.problems)
    assert any("named pipe" in p for p in docs.problems)


async def test_agents_md_reaches_the_system_prompt(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    _, deep, _ = repository(tmp_path)
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "ikigai" / "AGENTS.md"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("User-level: be kind.", encoding="utf-8")
    try:
        settings = settings_with(
            profiles={
                "default": {"model": "anthropic/claude-sonnet-4-5", "system_prompt": "Be exact."}
            }
        )
        fake_server.enqueue(Reply([Text("ok")]), Reply([Text("ok")]))
        conversation = await opened(
            tmp_path, fake_server, "anthropic/claude-sonnet-4-5", settings, db=False, cwd=deep
        )
        await run_turn(conversation.send("hi"))
        system = fake_server.requests[0].json["system"]
        assert system.startswith("Be exact.\n\n# Project instructions (AGENTS.md)")
        for text in ("User-level: be kind.", "make test", "pkg: keep", "deep: no new"):
            assert text in system
        report = await conversation.context_report()
        labels = [part.label for part in report.parts]
        assert f"AGENTS.md {deep / 'AGENTS.md'}" in labels
        # Edited between turns: the next request has the new text.
        (deep / "AGENTS.md").write_text("deep: edited.", encoding="utf-8")
        await run_turn(conversation.send("again"))
        assert "deep: edited." in fake_server.requests[1].json["system"]
        await conversation.close()
    finally:
        user.unlink()


async def test_project_docs_can_be_turned_off(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    _, deep, _ = repository(tmp_path)
    settings = settings_with(context={"project_docs": False})
    fake_server.enqueue(Reply([Text("ok")]))
    conversation = await opened(
        tmp_path, fake_server, "anthropic/claude-sonnet-4-5", settings, db=False, cwd=deep
    )
    await run_turn(conversation.send("hi"))
    assert "system" not in fake_server.requests[0].json
    await conversation.close()


async def test_a_bad_agents_md_is_reported_once(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    (tmp_path / "AGENTS.md").write_bytes(b"\xff\xfe broken")
    notices: list = []
    fake_server.enqueue(Reply([Text("ok")]), Reply([Text("ok")]))
    conversation = await opened(
        tmp_path, fake_server, "anthropic/claude-sonnet-4-5", db=False, notices=notices
    )
    await run_turn(conversation.send("hi"))
    await run_turn(conversation.send("again"))
    assert [n.text for n in notices] == [
        f"AGENTS.md left out: {tmp_path / 'AGENTS.md'} is not UTF-8 text"
    ]
    assert notices[0].source == "context"
    assert "system" not in fake_server.requests[0].json
    await conversation.close()
