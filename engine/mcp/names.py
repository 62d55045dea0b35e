"""How MCP tools are named for the model: ``mcp__<server>__<tool>``.

The prefix keeps every MCP tool apart from the built-in ones and from the
tools of other servers, so two servers may both offer ``search``. Provider
APIs accept tool names of at most 64 characters from ``[A-Za-z0-9_-]``: a
server name is restricted to those characters (and may not contain ``__`` or
end with ``_``, so the name splits back unambiguously); a tool name with
other characters (``files.read``) has them replaced by ``_``; a name that is
still too long or collides is not offered (``engine.mcp.catalog`` says why).
"""

from __future__ import annotations

import re

PREFIX = "mcp__"
SEPARATOR = "__"
WILDCARD = "*"
MAX_NAME_LENGTH = 64
"""The longest tool name all four providers accept."""
MAX_SERVER_NAME_LENGTH = 32
"""Leaves at least 25 characters for the tool's own name."""

SERVER_NAME = re.compile(r"^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$")
"""Letters, digits, ``-`` and single ``_`` between them."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def valid_server_name(name: str) -> bool:
    """Whether ``name`` may name an MCP server (``[mcp.servers.<name>]``)."""
    return len(name) <= MAX_SERVER_NAME_LENGTH and bool(SERVER_NAME.match(name))


def is_mcp_name(name: str) -> bool:
    """Whether ``name`` is in the MCP namespace (``mcp__...``)."""
    return name.startswith(PREFIX)


def tool_name(server: str, tool: str) -> str:
    """The name the model calls ``tool`` of ``server`` by (unsafe characters become ``_``)."""
    return f"{PREFIX}{server}{SEPARATOR}{_UNSAFE.sub('_', tool)}"


def server_wildcard(server: str) -> str:
    """The ``[tools]`` key that covers every tool of ``server``: ``mcp__<server>__*``."""
    return f"{PREFIX}{server}{SEPARATOR}{WILDCARD}"


def split_name(name: str) -> tuple[str, str] | None:
    """``mcp__<server>__<rest>`` -> ``(server, rest)``; ``None`` when it is not of that shape."""
    if not name.startswith(PREFIX):
        return None
    server, separator, rest = name[len(PREFIX) :].partition(SEPARATOR)
    if not separator or not rest or not valid_server_name(server):
        return None
    return server, rest


def describe(name: str) -> str:
    """``mcp__demo__echo`` -> ``echo (MCP server demo)``; other names unchanged."""
    parts = split_name(name)
    if parts is None:
        return name
    server, tool = parts
    return f"{tool} (MCP server {server})"
