"""The shapes every tool shares: its context, its result and its definition.

A tool is data (a ``ToolSpec`` for the model, a read-only flag for the planner)
plus one async ``run`` function. Keeping them plain dataclasses lets the agent
loop, the policy and the planner reason about tools without importing any of
their implementations.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ikigai.providers.request import ImagePart, ToolSpec

DEFAULT_OUTPUT_CAP = 64 * 1024
"""Bytes of tool output sent back to the model before it is cut."""

DEFAULT_BASH_TIMEOUT = 120.0
"""Seconds a ``bash`` command may run when the model gives no timeout."""

DEFAULT_TOOL_TIMEOUT = 60.0
"""Seconds any other tool call (a ``grep`` over a huge tree...) may run before it is stopped."""

DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TERM",
    "TMPDIR",
    "TZ",
)
"""Variables passed from ikigai's environment to tool subprocesses; everything else is not.

Entries may be ``fnmatch`` patterns (``LC_*``); names are matched case-sensitively.
"""

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    "*API_KEY*",
    "*APIKEY*",
    "*_KEY",
    "*_KEY_*",
    "*SECRET*",
    "*TOKEN*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "AWS_*",
)
"""Names withheld from tool subprocesses even when allowed or set explicitly.

Matched case-insensitively with ``fnmatch``. ``ToolContext.secret_patterns``
replaces this list (``()`` turns the check off); provider keys are withheld
whatever it says.
"""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool run produced: ``ok`` is false for any failure the model should see.

    ``images`` (MCP tools) go to the model with ``output`` where the provider takes them.
    """

    ok: bool
    output: str
    images: tuple[ImagePart, ...] = ()


class ToolError(Exception):
    """An expected failure (bad path, missing file...) whose message is meant for the model.

    Tools raise it instead of building an error ``ToolResult`` by hand; ``execute``
    turns it into ``ToolResult(ok=False, output=str(error))``.
    """


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Where and how tools run for one session.

    ``cwd`` is the working directory; file tools may touch it and ``extra_roots``
    only. ``env`` is the environment subprocesses draw from (``None`` means the
    current process environment); a subprocess gets only its variables named
    by ``DEFAULT_ENV_ALLOW`` or ``env_allow``, plus ``extra_env`` (the
    ``[tools.env]`` table). Names matching ``secret_patterns`` are withheld
    from both; provider keys and the names in ``secret_env_names`` (a
    profile's ``api_key_env``) are withheld always. ``tool_timeout`` bounds
    every call of a tool other than ``bash``, whose bound is ``bash_timeout``
    or the call's own ``timeout``.
    """

    cwd: Path
    extra_roots: tuple[Path, ...] = ()
    output_cap: int = DEFAULT_OUTPUT_CAP
    bash_timeout: float = DEFAULT_BASH_TIMEOUT
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT
    env: Mapping[str, str] | None = None
    secret_env_names: frozenset[str] = field(default_factory=frozenset)
    env_allow: tuple[str, ...] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)
    secret_patterns: tuple[str, ...] = DEFAULT_SECRET_PATTERNS

    def roots(self) -> tuple[Path, ...]:
        """The working directory and extra roots, fully resolved (symlinks followed)."""
        return tuple(Path(os.path.realpath(root)) for root in (self.cwd, *self.extra_roots))


ToolRunner = Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]
"""``run(arguments, context)``: arguments have already passed the tool's schema."""


@dataclass(frozen=True, slots=True)
class Tool:
    """A built-in tool: its spec for the model, whether it only reads, and its runner."""

    spec: ToolSpec
    read_only: bool
    run: ToolRunner
    own_timeout: bool = False
    """True when ``run`` enforces its own time limit (``bash``); otherwise ``execute``
    stops the call after ``ToolContext.tool_timeout``."""

    @property
    def name(self) -> str:
        """The name the model calls the tool by."""
        return self.spec.name
