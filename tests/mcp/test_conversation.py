"""MCP tools in a whole turn: offered, approved, run, stored, answered; servers closed after.

A real ``Conversation`` against the loopback fake model server and the real demo
MCP server, with a real SQLite file.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from ikigai.engine.conversation import Conversation, ToolAccess
from ikigai.engine.settings import ConfigError, Settings, resolve_run
from ikigai.engine.toolloop import Approval
from ikigai.providers.request import ToolCallBlock
from ikigai.storage.repository import Database
from tests.fakeserver import FakeServer, Reply, Text, ToolCall
from tests.mcp.conftest import DEMO, pids, wait_gone
from tests.mcp.demo_server import PNG


def settings(pid_file: Path, tools: dict[str, str] | None = None) -> Settings:
    return Settings.from_data(
        {
            "profiles": {"default": {"model": "openai-chat/fake-model"}},
            "tools": tools or {},
            "mcp": {
                "servers": {
                    "demo": {
                        "command": sys.executable,
                        "args": [str(DEMO), "--pid-file", str(pid_file)],
                    }
                }
            },
        }
    )


async def conversation(
    tmp_path: Path, server: FakeServer, config: Settings, access: ToolAccess
) -> Conversation:
    run = resolve_run(config, base_url=server.base_url("openai-chat"), env={"OPENAI_API_KEY": "k"})
    db = await Database.open(tmp_path / "ikigai.db")
    return Conversation(config, run, db=db, tools=access, base_url=server.base_url("openai-chat"))


def tool_messages(server: FakeServer, index: int) -> list[dict[str, object]]:
    return [m for m in server.requests[index].json["messages"] if m["role"] == "tool"]


async def test_an_mcp_tool_is_asked_about_run_stored_and_answered(
    tmp_path: Path, fake_server: FakeServer, pid_file: Path
) -> None:
    asked: list[ToolCallBlock] = []

    async def approve(call: ToolCallBlock) -> Approval:
        asked.append(call)
        return Approval("once")

    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__echo", {"text": "hi"}, id="call_1")]),
        Reply([Text("The server said hi.")]),
    )
    chat = await conversation(
        tmp_path, fake_server, settings(pid_file), ToolAccess(approver=approve, cwd=tmp_path)
    )
    turn = chat.send("use the demo tool")
    events = [event async for event in turn]
    assert turn.outcome is not None and turn.outcome.status == "complete"
    assert [call.name for call in asked] == ["mcp__demo__echo"]
    offered = [tool["function"]["name"] for tool in fake_server.requests[0].json["tools"]]
    assert "mcp__demo__echo" in offered and "bash" in offered
    assert "mcp__demo__bad_schema" not in offered
    [result] = tool_messages(fake_server, 1)
    assert result["content"] == "echo: hi"
    results = [e for e in events if getattr(e, "type", "") == "tool_result"]
    assert [(r.name, r.ok, r.output) for r in results] == [("mcp__demo__echo", True, "echo: hi")]
    [pid] = pids(pid_file)
    assert await chat.close()
    assert wait_gone(pid)
    with sqlite3.connect(tmp_path / "ikigai.db") as db:
        [data] = [
            json.loads(row[0])
            for row in db.execute("SELECT data FROM messages WHERE kind = 'tool_result'")
        ]
    assert (data["name"], data["mcp_server"], data["mcp_tool"], data["success"]) == (
        "mcp__demo__echo",
        "demo",
        "echo",
        True,
    )


async def test_a_server_wildcard_allows_without_asking_and_an_exact_deny_refuses(
    tmp_path: Path, fake_server: FakeServer, pid_file: Path
) -> None:
    async def never(call: ToolCallBlock) -> Approval:
        raise AssertionError(f"asked about {call.name}")

    fake_server.enqueue(
        Reply(
            [
                ToolCall("mcp__demo__echo", {"text": "a"}, id="call_1"),
                ToolCall("mcp__demo__add", {"a": 1, "b": 2}, id="call_2"),
            ]
        ),
        Reply([Text("done")]),
    )
    config = settings(pid_file, {"mcp__demo__*": "allow", "mcp__demo__add": "deny"})
    chat = await conversation(tmp_path, fake_server, config, ToolAccess(approver=never))
    async for _event in chat.send("go"):
        pass
    echo, add = tool_messages(fake_server, 1)
    assert echo["content"] == "echo: a"
    assert isinstance(add["content"], str)
    assert add["content"].startswith("The user denied permission to run mcp__demo__add.")
    await chat.close()


async def test_headless_denies_an_asking_mcp_tool_unless_allowed(
    tmp_path: Path, fake_server: FakeServer, pid_file: Path
) -> None:
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__echo", {"text": "a"}, id="call_1")]),
        Reply([Text("denied")]),
        Reply([ToolCall("mcp__demo__echo", {"text": "b"}, id="call_2")]),
        Reply([Text("allowed")]),
    )
    config = settings(pid_file)
    refused = await conversation(tmp_path, fake_server, config, ToolAccess())
    async for _event in refused.send("go"):
        pass
    await refused.close()
    [denied] = tool_messages(fake_server, 1)
    assert "not allowed by the tool policy" in str(denied["content"])
    allowed = await conversation(
        tmp_path, fake_server, config, ToolAccess(allowed=frozenset({"mcp__demo__*"}))
    )
    async for _event in allowed.send("go"):
        pass
    await allowed.close()
    [ran] = tool_messages(fake_server, 3)
    assert ran["content"] == "echo: b"
    assert all(wait_gone(pid) for pid in pids(pid_file))


async def test_mcp_status_shows_the_tools_and_their_permissions(
    tmp_path: Path, fake_server: FakeServer, pid_file: Path
) -> None:
    config = settings(pid_file, {"mcp__demo__echo": "allow", "mcp__demo__*": "ask"})

    async def approve(call: ToolCallBlock) -> Approval:
        return Approval("always")

    chat = await conversation(tmp_path, fake_server, config, ToolAccess(approver=approve))
    [before] = await chat.mcp_status()
    assert before.state == "not started"
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__add", {"a": 1, "b": 1}, id="call_1")]), Reply([Text("2")])
    )
    async for _event in chat.send("add"):
        pass
    [status] = await chat.mcp_status()
    permissions = {tool.tool: tool.permission for tool in status.tools}
    assert permissions["echo"] == "allow"
    assert permissions["add"] == "allow"  # answered "always" in this conversation
    assert permissions["stats"] == "ask"
    await chat.close()


async def test_a_tools_key_for_an_unknown_server_is_a_config_error_when_strict(
    tmp_path: Path, fake_server: FakeServer, pid_file: Path
) -> None:
    config = settings(pid_file, {"mcp__other__*": "allow"})
    run = resolve_run(config, env={"OPENAI_API_KEY": "k"})
    with pytest.raises(ConfigError, match="unknown MCP server 'other'"):
        Conversation(config, run, strict=True)
    lenient = Conversation(config, run)
    assert any("unknown MCP server 'other'" in problem for problem in lenient.problems)
    await lenient.close()


IMAGE_FORMATS = {
    "anthropic": ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "openai": ("openai/gpt-5-mini", "OPENAI_API_KEY"),
    "openai-chat": ("openai-chat/fake-model", "OPENAI_API_KEY"),
    "google": ("google/gemini-2.5-flash", "GEMINI_API_KEY"),
}


@pytest.mark.parametrize("provider", list(IMAGE_FORMATS))
async def test_an_image_reaches_the_providers_that_take_images_in_tool_results(
    tmp_path: Path, fake_server: FakeServer, pid_file: Path, provider: str
) -> None:
    model, key = IMAGE_FORMATS[provider]
    config = settings(pid_file, {"mcp__demo__image": "allow"})
    run = resolve_run(
        config, model=model, base_url=fake_server.base_url(provider), env={key: "loopback"}
    )
    chat = Conversation(config, run, tools=ToolAccess(approver=None, cwd=tmp_path))
    fake_server.enqueue(
        Reply([ToolCall("mcp__demo__image", {}, id="call_1")]), Reply([Text("A dot.")])
    )
    async for _event in chat.send("show me"):
        pass
    await chat.close()
    sent = json.dumps(fake_server.requests[1].json)
    note = "a picture:\\n[image: image/png, 70 bytes]\\n[image: image/tiff, 4 bytes"
    assert note in sent  # every format gets the text describing the images
    if provider == "anthropic":
        [result] = [
            block
            for message in fake_server.requests[1].json["messages"]
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        assert result["content"][1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
        }
    elif provider == "openai":
        [output] = [
            item
            for item in fake_server.requests[1].json["input"]
            if item.get("type") == "function_call_output"
        ]
        assert output["output"][1] == {
            "type": "input_image",
            "image_url": f"data:image/png;base64,{PNG}",
        }
    else:
        assert PNG not in sent  # text-only tool results: the description only
