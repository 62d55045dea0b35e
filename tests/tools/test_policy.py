"""Permissions: defaults, config parsing, headless resolution, denial results."""

from __future__ import annotations

import pytest

from ikigai.engine.tools import (
    BUILTIN_TOOL_NAMES,
    Permission,
    PolicyError,
    ToolPolicy,
    denied_result,
    parse_allow,
    parse_policy,
    resolve_headless,
)


def test_defaults() -> None:
    policy = parse_policy({})
    assert {name: policy.permission(name) for name in BUILTIN_TOOL_NAMES} == {
        "file_read": Permission.ALLOW,
        "glob": Permission.ALLOW,
        "grep": Permission.ALLOW,
        "file_write": Permission.ASK,
        "file_edit": Permission.ASK,
        "bash": Permission.ASK,
    }
    assert ToolPolicy().permission("bash") is Permission.ASK


def test_unknown_tool_name_at_runtime_is_denied() -> None:
    assert parse_policy({}).permission("mystery") is Permission.DENY


def test_config_overrides() -> None:
    policy = parse_policy({"bash": "deny", "file_write": " Allow ", "grep": "ask"})
    assert policy.permission("bash") is Permission.DENY
    assert policy.permission("file_write") is Permission.ALLOW
    assert policy.permission("grep") is Permission.ASK
    assert policy.permission("file_read") is Permission.ALLOW


def test_config_errors_are_all_listed() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy({"bsh": "allow", "bash": "sometimes", "glob": True})
    message = str(raised.value)
    assert "[tools] bsh: unknown tool (known tools: bash, file_edit" in message
    assert "[tools] bash = 'sometimes': expected one of allow, ask, deny" in message
    assert "[tools] glob = True: expected one of allow, ask, deny" in message
    assert "\n" not in message  # an error is told on one line, whatever the front end
    assert isinstance(raised.value, ValueError)


def test_parse_allow() -> None:
    assert parse_allow("bash") == {"bash"}
    assert parse_allow("bash, file_write") == {"bash", "file_write"}
    assert parse_allow(["bash", "file_edit,file_write"]) == {"bash", "file_edit", "file_write"}
    assert parse_allow("all") == BUILTIN_TOOL_NAMES
    with pytest.raises(PolicyError, match="unknown tool\\(s\\) bsh"):
        parse_allow("bsh,bash")
    with pytest.raises(PolicyError, match="needs a tool name"):
        parse_allow(" , ")


def test_headless_ask_becomes_deny_unless_allowed() -> None:
    policy = parse_policy({"file_write": "deny"})
    headless = resolve_headless(policy, parse_allow("bash,file_write"))
    assert headless.permission("bash") is Permission.ALLOW
    assert headless.permission("file_edit") is Permission.DENY
    assert headless.permission("file_write") is Permission.DENY  # deny is never overridden
    assert headless.permission("file_read") is Permission.ALLOW
    assert Permission.ASK not in headless.permissions.values()


def test_headless_without_allow_denies_every_ask() -> None:
    headless = resolve_headless(parse_policy({}))
    assert [name for name, p in headless.permissions.items() if p is Permission.ALLOW] == [
        name for name in headless.permissions if name in {"file_read", "glob", "grep"}
    ]
    assert headless.permission("bash") is Permission.DENY


def test_headless_allow_all() -> None:
    headless = resolve_headless(parse_policy({}), parse_allow("all"))
    assert set(headless.permissions.values()) == {Permission.ALLOW}


def test_denied_result() -> None:
    plain = denied_result("bash")
    assert not plain.ok
    assert plain.output.startswith("The user denied permission to run bash.")
    with_reason = denied_result("file_write", "  not in this repo ")
    assert "Reason: not in this repo" in with_reason.output
