"""The MCP manager against the real demo server: tools, results, bad input, lifetime.

Each "bad input" case of the MCP issue has a test here: a command that does not
exist, a server that exits during ``initialize``, one that hangs, a tool with an
invalid schema, arguments that do not match the schema, a tool error, two
servers with the same tool name, a flood of output and a denied tool called
anyway. No protocol is mocked: every server is a process (or an HTTP endpoint)
running the SDK.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ikigai.engine.settings import McpServerSettings
from ikigai.engine.tools.output import truncation_note
from ikigai.providers.request import ImagePart
from tests.mcp.conftest import Managers, alive, eventually, pids, stdio_settings, wait_gone
from tests.mcp.demo_server import PNG


def names(manager: object) -> set[str]:
    return {spec.name for spec in manager.specs()}  # type: ignore[attr-defined]


async def test_tools_are_offered_with_their_schema_and_run(managers: Managers) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    specs = {spec.name: spec for spec in manager.specs()}
    assert "mcp__demo__echo" in specs
    assert specs["mcp__demo__echo"].parameters["required"] == ["text"]
    assert specs["mcp__demo__echo"].description == "Echo the text back."
    result = await manager.call("mcp__demo__echo", '{"text": "hello"}')
    assert (result.ok, result.output) == (True, "echo: hello")
    assert manager.source("mcp__demo__echo") == ("demo", "echo")


async def test_structured_content_becomes_json_text_once(managers: Managers) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    only_structured = await manager.call("mcp__demo__stats", "")
    assert only_structured.ok
    assert json.loads(only_structured.output) == {"count": 3, "ok": True}
    both = await manager.call("mcp__demo__add", '{"a": 2, "b": 3}')
    assert both.output == '{"sum": 5}'  # the text block already carries the same JSON


async def test_a_common_image_goes_with_the_result_and_others_are_described(
    managers: Managers,
) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    result = await manager.call("mcp__demo__image", "")
    assert result.ok
    assert result.images == (ImagePart("image/png", PNG),)
    assert result.output == (
        "a picture:\n[image: image/png, 70 bytes]\n"
        "[image: image/tiff, 4 bytes — not shown to the model]"
    )


async def test_a_command_that_does_not_exist_fails_that_server_only(managers: Managers) -> None:
    manager = managers(
        ghost=McpServerSettings(command="/nonexistent/mcp-server"), demo=stdio_settings()
    )
    await manager.ensure_started()
    statuses = {s.name: s for s in await manager.status(lambda name: "ask")}
    assert statuses["ghost"].state == "failed"
    assert statuses["ghost"].error == "command '/nonexistent/mcp-server' not found"
    assert statuses["demo"].state == "ready"
    assert any(
        "ghost failed: command '/nonexistent/mcp-server' not found" in t for t in managers.texts()
    )
    refused = await manager.call("mcp__ghost__echo", '{"text": "x"}')
    assert not refused.ok and "not available: command" in refused.output


async def test_a_server_that_exits_during_initialize_is_failed_with_its_stderr(
    managers: Managers, pid_file: Path
) -> None:
    manager = managers(dies=stdio_settings("--mode", "exit-on-init", "--pid-file", str(pid_file)))
    await manager.ensure_started()
    [status] = await manager.status(lambda name: "ask")
    assert status.state == "failed"
    assert status.error is not None
    assert "closed the connection before it was ready" in status.error
    assert "DEMO_TOKEN is wrong" in status.error  # quoted from the server's stderr
    assert manager.specs() == []
    assert all(wait_gone(pid) for pid in pids(pid_file))


async def test_a_server_that_hangs_times_out_and_is_stopped(
    managers: Managers, pid_file: Path
) -> None:
    manager = managers(
        hangs=stdio_settings("--mode", "hang", "--pid-file", str(pid_file), timeout=1.0)
    )
    await manager.ensure_started()
    [status] = await manager.status(lambda name: "ask")
    assert (status.state, status.error) == ("failed", "no answer within 1 s")
    [pid] = pids(pid_file)
    assert wait_gone(pid)


async def test_a_tool_with_an_invalid_schema_is_skipped_with_a_warning(managers: Managers) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    assert "mcp__demo__bad_schema" not in names(manager)
    assert {"mcp__demo__echo", "mcp__demo__add"} <= names(manager)
    [warning] = [t for t in managers.texts() if "bad_schema" in t]
    assert warning.startswith("MCP server demo: tool 'bad_schema' skipped: its input schema is")


async def test_arguments_that_do_not_match_the_schema_are_refused_before_the_call(
    managers: Managers,
) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    result = await manager.call("mcp__demo__add", '{"a": "two", "c": 1}')
    assert not result.ok
    assert result.output.startswith("Invalid arguments for mcp__demo__add:")
    assert "'b' is a required property" in result.output
    assert "arguments.a: 'two' is not of type 'number'" in result.output
    assert "'c' was unexpected" in result.output
    broken = await manager.call("mcp__demo__add", '{"a": 1,')
    assert not broken.ok and "not valid JSON" in broken.output


async def test_a_tool_error_reaches_the_model_as_a_failed_result(managers: Managers) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    result = await manager.call("mcp__demo__fail", '{"text": "disk on fire"}')
    assert (result.ok, result.output) == (False, "it failed: disk on fire")


async def test_two_servers_with_the_same_tool_name_are_both_offered(managers: Managers) -> None:
    manager = managers(
        left=stdio_settings("--prefix", "L:"), right=stdio_settings("--prefix", "R:")
    )
    await manager.ensure_started()
    assert {"mcp__left__echo", "mcp__right__echo"} <= names(manager)
    left = await manager.call("mcp__left__echo", '{"text": "a"}')
    right = await manager.call("mcp__right__echo", '{"text": "b"}')
    assert (left.output, right.output) == ("L:echo: a", "R:echo: b")


async def test_a_flood_of_output_is_capped_like_other_tools(managers: Managers) -> None:
    manager = managers(output_cap=4096, demo=stdio_settings())
    await manager.ensure_started()
    result = await manager.call("mcp__demo__flood", '{"size": 2000000}')
    assert result.ok
    assert result.output == "x" * 4096 + "\n" + truncation_note(2_000_000, 4096)
    after = await manager.call("mcp__demo__echo", '{"text": "still fine"}')
    assert after.output == "echo: still fine"


async def test_a_flood_on_stderr_never_blocks_the_server(managers: Managers) -> None:
    manager = managers(demo=stdio_settings(timeout=20.0))
    await manager.ensure_started()
    for _ in range(2):  # more than any pipe buffer, twice
        assert (await manager.call("mcp__demo__shout", "")).output == "shouted"
    assert (await manager.call("mcp__demo__echo", '{"text": "ok"}')).output == "echo: ok"


async def test_a_cancelled_call_leaves_the_server_usable(managers: Managers) -> None:
    manager = managers(demo=stdio_settings())
    await manager.ensure_started()
    call = asyncio.ensure_future(manager.call("mcp__demo__slow", '{"seconds": 60}'))
    await asyncio.sleep(0.5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert (await manager.call("mcp__demo__echo", '{"text": "next"}')).output == "echo: next"


async def test_a_denied_tool_is_not_offered_and_refused_when_called(managers: Managers) -> None:
    manager = managers(demo=stdio_settings(deny=("secret", "fl*")))
    await manager.ensure_started()
    assert "mcp__demo__secret" not in names(manager)
    assert "mcp__demo__flood" not in names(manager)
    result = await manager.call("mcp__demo__secret", "")
    assert not result.ok
    assert "not available: the user's configuration does not offer it" in result.output
    [status] = await manager.status(lambda name: "ask")
    assert set(status.hidden) == {"secret", "flood"}


async def test_an_allow_list_offers_only_its_tools_and_warns_about_a_typo(
    managers: Managers,
) -> None:
    manager = managers(demo=stdio_settings(allow=("echo", "ad?", "ehco")))
    await manager.ensure_started()
    assert names(manager) == {"mcp__demo__echo", "mcp__demo__add"}
    assert "MCP server demo: allow entry 'ehco' matches none of its tools" in managers.texts()


async def test_an_unknown_tool_of_a_running_server_lists_what_it_offers(
    managers: Managers,
) -> None:
    manager = managers(demo=stdio_settings(allow=("echo",)))
    await manager.ensure_started()
    result = await manager.call("mcp__demo__nope", "{}")
    assert result == type(result)(
        False, "Unknown tool 'mcp__demo__nope'. MCP server demo offers: mcp__demo__echo."
    )


async def test_a_slow_call_times_out_and_the_server_stays_usable(managers: Managers) -> None:
    # The timeout bounds the start too: long enough for a loaded machine to start Python.
    manager = managers(demo=stdio_settings(timeout=6.0))
    await manager.ensure_started()
    result = await manager.call("mcp__demo__slow", '{"seconds": 60}')
    assert (result.ok, result.output) == (False, "mcp__demo__slow failed: no answer within 6 s")
    again = await manager.call("mcp__demo__echo", '{"text": "after"}')
    assert again.output == "echo: after"


async def test_a_crashed_server_is_restarted_once_then_failed(
    managers: Managers, pid_file: Path
) -> None:
    manager = managers(demo=stdio_settings("--pid-file", str(pid_file)))
    await manager.ensure_started()
    first = await manager.call("mcp__demo__crash", "")
    assert not first.ok
    assert "stopped while running crash" in first.output
    assert "crashing on purpose" in first.output  # the server's stderr
    assert "It was restarted" in first.output
    assert any("demo stopped" in t and "restarting it" in t for t in managers.texts())
    assert "MCP server demo restarted" in managers.texts()
    assert len(pids(pid_file)) == 2
    assert (await manager.call("mcp__demo__echo", '{"text": "back"}')).output == "echo: back"
    second = await manager.call("mcp__demo__crash", "")
    assert not second.ok and "no longer available" in second.output
    [status] = await manager.status(lambda name: "ask")
    assert status.state == "failed" and status.restarts == 1
    assert status.error is not None and "stopped again after a restart" in status.error
    assert manager.specs() == []
    assert len(pids(pid_file)) == 2  # not started a third time
    assert all(wait_gone(pid) for pid in pids(pid_file))


async def test_close_leaves_no_server_process(managers: Managers, pid_file: Path) -> None:
    manager = managers(
        one=stdio_settings("--pid-file", str(pid_file)),
        two=stdio_settings("--pid-file", str(pid_file)),
    )
    await manager.ensure_started()
    running = pids(pid_file)
    assert len(running) == 2 and all(alive(pid) for pid in running)
    await manager.close()
    assert all(wait_gone(pid) for pid in running)
    assert manager.specs() == []


async def test_close_during_a_start_stops_the_server_at_once(
    managers: Managers, pid_file: Path
) -> None:
    manager = managers(hangs=stdio_settings("--mode", "hang", "--pid-file", str(pid_file)))
    manager.start_eager()  # lazy: nothing starts
    assert pids(pid_file) == []
    starting = asyncio.ensure_future(manager.ensure_started())
    await eventually(lambda: bool(pids(pid_file)))
    await manager.close()  # well before the 30 s start timeout
    await starting
    assert all(wait_gone(pid) for pid in pids(pid_file))


async def test_eager_servers_start_in_the_background(managers: Managers, pid_file: Path) -> None:
    manager = managers(
        early=stdio_settings("--pid-file", str(pid_file), startup="eager"),
        late=stdio_settings(),
    )
    manager.start_eager()
    statuses = {s.name: s.state for s in await manager.status(lambda name: "ask")}
    assert statuses == {"early": "starting", "late": "not started"}
    await eventually(lambda: manager.offers("mcp__early__echo"))
    assert not manager.offers("mcp__late__echo")


async def test_a_disabled_server_never_starts(managers: Managers, pid_file: Path) -> None:
    manager = managers(off=stdio_settings("--pid-file", str(pid_file), enabled=False))
    await manager.ensure_started()
    [status] = await manager.status(lambda name: "ask")
    assert status.state == "disabled"
    assert pids(pid_file) == []
    refused = await manager.call("mcp__off__echo", '{"text": "x"}')
    assert refused.output == "mcp__off__echo: MCP server off is disabled."


async def test_env_names_variables_and_provider_keys_never_reach_the_server(
    managers: Managers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_VALUE_SOURCE", "forty-two")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret")
    manager = managers(demo=stdio_settings(env={"DEMO_VALUE": "$DEMO_VALUE_SOURCE", "LIT": "$$x"}))
    await manager.ensure_started()
    value = await manager.call("mcp__demo__env", '{"name": "DEMO_VALUE"}')
    literal = await manager.call("mcp__demo__env", '{"name": "LIT"}')
    key = await manager.call("mcp__demo__env", '{"name": "OPENAI_API_KEY"}')
    assert (value.output, literal.output, key.output) == ("forty-two", "$x", "<unset>")


@pytest.mark.parametrize(
    ("env", "error"),
    [
        (
            {"TOKEN": "$OPENAI_API_KEY"},
            "[mcp.servers.demo] env.TOKEN names OPENAI_API_KEY, a provider API key",
        ),
        ({"TOKEN": "prefix sk-test-very-secret"}, "[mcp.servers.demo] env.TOKEN holds a provider"),
        ({"TOKEN": "${NOT_SET_ANYWHERE}"}, "environment variable NOT_SET_ANYWHERE is not set"),
        ({"TOKEN": "$"}, "invalid variable reference"),
    ],
)
async def test_bad_env_entries_fail_the_server_with_the_entry_named(
    managers: Managers,
    monkeypatch: pytest.MonkeyPatch,
    pid_file: Path,
    env: dict[str, str],
    error: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    manager = managers(demo=stdio_settings("--pid-file", str(pid_file), env=env))
    await manager.ensure_started()
    [status] = await manager.status(lambda name: "ask")
    assert status.state == "failed"
    assert status.error is not None and error in status.error
    assert pids(pid_file) == []  # never started


async def test_a_cwd_that_does_not_exist_is_named(managers: Managers, tmp_path: Path) -> None:
    manager = managers(demo=stdio_settings(cwd=str(tmp_path / "missing")))
    await manager.ensure_started()
    [status] = await manager.status(lambda name: "ask")
    assert (
        status.error == f"[mcp.servers.demo] cwd {str(tmp_path / 'missing')!r} is not a directory"
    )


async def test_streamable_http_with_headers_from_the_environment(
    managers: Managers, http_demo: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_TOKEN", "token-123")
    url = http_demo()
    manager = managers(
        web=McpServerSettings(url=url, headers={"Authorization": "Bearer ${DEMO_TOKEN}"})
    )
    await manager.ensure_started()
    assert (await manager.call("mcp__web__echo", '{"text": "hi"}')).output == "echo: hi"
    header = await manager.call("mcp__web__header", '{"name": "authorization"}')
    assert header.output == "Bearer token-123"
    [status] = await manager.status(lambda name: "ask")
    assert (status.transport, status.state) == ("http", "ready")


async def test_an_http_server_that_is_not_there_fails_clearly(managers: Managers) -> None:
    manager = managers(web=McpServerSettings(url="http://127.0.0.1:9/mcp", timeout=5.0))
    await manager.ensure_started()
    [status] = await manager.status(lambda name: "ask")
    assert status.state == "failed"
    assert status.error is not None
    assert status.error.startswith("cannot connect to http://127.0.0.1:9/mcp")


async def test_status_finds_a_server_that_died_while_idle_and_restarts_it(
    managers: Managers, pid_file: Path
) -> None:
    import os
    import signal

    manager = managers(demo=stdio_settings("--pid-file", str(pid_file)))
    await manager.ensure_started()
    [pid] = pids(pid_file)
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    [status] = await manager.status(lambda name: "ask")
    assert (status.state, status.restarts) == ("ready", 1)
    assert len(pids(pid_file)) == 2
    assert any("demo stopped" in t for t in managers.texts())
