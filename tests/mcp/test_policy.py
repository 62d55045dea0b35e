"""``[tools]`` and ``--allow`` govern MCP tools like the built-in ones."""

from __future__ import annotations

import pytest

from ikigai.engine.tools.policy import (
    Permission,
    PolicyError,
    parse_allow,
    parse_policy,
    resolve_headless,
)

SERVERS = ("demo", "web")


def test_an_mcp_tool_asks_by_default_and_an_unrelated_name_is_denied() -> None:
    policy = parse_policy({}, mcp_servers=SERVERS)
    assert policy.permission("mcp__demo__echo") is Permission.ASK
    assert policy.permission("mcp_demo_echo") is Permission.DENY
    assert policy.permission("bash") is Permission.ASK


def test_the_exact_name_wins_over_the_server_wildcard() -> None:
    policy = parse_policy(
        {"mcp__demo__*": "allow", "mcp__demo__delete": "deny", "mcp__web__*": "Deny "},
        mcp_servers=SERVERS,
    )
    assert policy.permission("mcp__demo__echo") is Permission.ALLOW
    assert policy.permission("mcp__demo__delete") is Permission.DENY
    assert policy.permission("mcp__web__anything") is Permission.DENY


def test_every_bad_mcp_key_is_listed_at_once() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(
            {"mcp__nope__echo": "allow", "mcp__demo": "allow", "mcp__demo__x": "often"},
            mcp_servers=SERVERS,
        )
    message = str(info.value)
    assert "[tools] mcp__nope__echo: unknown MCP server 'nope' (servers: demo, web)" in message
    assert "[tools] mcp__demo: expected mcp__<server>__<tool> or mcp__<server>__*" in message
    assert "[tools] mcp__demo__x = 'often': expected one of allow, ask, deny" in message


def test_allow_accepts_mcp_names_and_wildcards_of_configured_servers() -> None:
    assert parse_allow(["mcp__demo__echo,bash", "mcp__web__*"], mcp_servers=SERVERS) == {
        "mcp__demo__echo",
        "bash",
        "mcp__web__*",
    }
    with pytest.raises(PolicyError, match="unknown MCP server 'other'"):
        parse_allow("mcp__other__echo", mcp_servers=SERVERS)


def test_headless_allows_only_what_allow_names_and_keeps_configured_denials() -> None:
    policy = parse_policy(
        {"mcp__demo__delete": "deny", "mcp__web__*": "deny", "mcp__demo__add": "ask"},
        mcp_servers=SERVERS,
    )
    nobody = resolve_headless(policy, ())
    assert nobody.permission("mcp__demo__echo") is Permission.DENY
    assert nobody.permission("mcp__demo__add") is Permission.DENY
    one = resolve_headless(policy, {"mcp__demo__echo"})
    assert one.permission("mcp__demo__echo") is Permission.ALLOW
    assert one.permission("mcp__demo__add") is Permission.DENY
    server = resolve_headless(policy, {"mcp__demo__*", "mcp__web__read", "mcp__web__*"})
    assert server.permission("mcp__demo__echo") is Permission.ALLOW
    assert server.permission("mcp__demo__add") is Permission.ALLOW
    assert server.permission("mcp__demo__delete") is Permission.DENY
    assert server.permission("mcp__web__read") is Permission.DENY
    assert server.permission("mcp__web__other") is Permission.DENY


def test_allow_all_covers_mcp_tools_but_not_configured_denials() -> None:
    policy = parse_policy({"mcp__demo__delete": "deny"}, mcp_servers=SERVERS)
    everything = resolve_headless(policy, parse_allow("all", mcp_servers=SERVERS))
    assert everything.permission("mcp__demo__echo") is Permission.ALLOW
    assert everything.permission("mcp__web__x") is Permission.ALLOW
    assert everything.permission("mcp__demo__delete") is Permission.DENY
    assert everything.permission("bash") is Permission.ALLOW
