"""MCP tools in the app: asked about, run, answered in every wire format; ``/mcp``; exit.

The app runs through Textual's pilot against the loopback fake model server,
with the real demo MCP server (``tests/mcp/demo_server.py``) configured as a
stdio server. Its pid file shows no server process outlives the app.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ikigai.tui.screens.approval import ApprovalScreen
from ikigai.tui.widgets.message_views import Notice, ToolCallView
from tests.app.conftest import CONFIG, make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text, ToolCall
from tests.mcp.conftest import alive, pids, toml_server, wait_gone

FORMATS = {
    "openai-chat": ("openai-chat/fake-model", "OPENAI_API_KEY"),
    "openai": ("openai/gpt-5-mini", "OPENAI_API_KEY"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "google": ("google/gemini-2.5-flash", "GEMINI_API_KEY"),
}


def configure(app_env: Path, pid_file: Path, extra: str = "") -> None:
    (app_env / "config.toml").write_text(
        CONFIG + toml_server("demo", "--pid-file", str(pid_file), extra=extra), encoding="utf-8"
    )


def notes(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(n.copy_text for n in app.query(Notice))


async def send(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


@pytest.mark.parametrize("provider", list(FORMATS))
async def test_the_app_asks_runs_an_mcp_tool_and_answers(
    app_env: Path,
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    tmp_path: Path,
) -> None:
    model, key = FORMATS[provider]
    monkeypatch.setenv(key, "loopback-key")
    pid_file = tmp_path / "pids.txt"
    configure(app_env, pid_file)
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__echo", {"text": "from the app"})]),
        Reply([Text("The demo server echoed it.")]),
    )
    app = make_app(app_env, fake_server.base_url(provider), model=model)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "use the demo")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
        assert isinstance(app.screen, ApprovalScreen)
        assert app.screen.call.name == "mcp__demo__echo"
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: not app.busy and app.scrollback.last_answer() is not None,
            what="the answer",
        )
        await pilot.pause(0.1)
        view = app.query_one(ToolCallView)
        assert (view.tool_name, view.ok, view.output) == (
            "mcp__demo__echo",
            True,
            "echo: from the app",
        )
        answer = app.scrollback.last_answer()
        assert answer is not None and answer.copy_text == "The demo server echoed it."
        await send(pilot, "/mcp")
        await wait_for(pilot, lambda: "demo (stdio) · ready" in notes(app), what="/mcp")
        assert "echo ask" in notes(app)
        [pid] = pids(pid_file)
        assert alive(pid)
    assert "echo: from the app" in json.dumps(fake_server.requests[1].json)
    assert wait_gone(pid)


async def test_the_spinner_names_the_running_mcp_tool_and_an_eager_server_starts_with_the_app(
    app_env: Path, fake_server: FakeServer, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids.txt"
    configure(app_env, pid_file, extra='startup = "eager"\n')
    (app_env / "config.toml").write_text(
        (app_env / "config.toml").read_text() + '[tools]\n"mcp__demo__slow" = "allow"\n',
        encoding="utf-8",
    )
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__slow", {"seconds": 3})]), Reply([Text("Slept well.")])
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await wait_for(pilot, lambda: bool(pids(pid_file)), what="the eager start")
        async with asyncio.timeout(30):  # the handshake after the process started
            while [s.state for s in await app.conversation.mcp_status()] != ["ready"]:
                await pilot.pause(0.05)
        await send(pilot, "/mcp")
        await wait_for(pilot, lambda: "demo (stdio) · ready" in notes(app), what="ready")
        assert "slow allow" in notes(app)
        await send(pilot, "sleep a bit")
        await wait_for(
            pilot,
            lambda: app.spinner.state == "running slow (MCP server demo)",
            what="the spinner naming the tool",
        )
        await wait_for(pilot, lambda: not app.busy, what="the end of the turn")
        assert app.query_one(ToolCallView).output == "slept"
        [pid] = pids(pid_file)
    assert wait_gone(pid)


async def test_mcp_without_servers_says_how_to_add_one(
    app_env: Path, fake_server: FakeServer
) -> None:
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await send(pilot, "/mcp")
        await wait_for(pilot, lambda: "no MCP servers configured" in notes(app))


async def test_a_failed_server_shows_its_error_in_mcp(
    app_env: Path, fake_server: FakeServer
) -> None:
    (app_env / "config.toml").write_text(
        CONFIG + '[mcp.servers.ghost]\ncommand = "/nonexistent/mcp"\nstartup = "eager"\n',
        encoding="utf-8",
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, app.ready.is_set)
        await wait_for(pilot, lambda: "MCP server ghost failed" in notes(app), what="the notice")
        await send(pilot, "/mcp")
        await wait_for(
            pilot,
            lambda: "ghost (stdio) · failed: command '/nonexistent/mcp' not found" in notes(app),
        )
