"""A server's settings made ready to start: variables expanded, provider keys kept out.

``env`` and ``headers`` values may name variables of ikigai's own environment
(``$NAME`` or ``${NAME}``; ``$$`` is a literal ``$``), so tokens stay out of the
config file. Expansion is ``string.Template``'s, not a hand-written parser.

Provider API keys never reach an MCP server: a value that names a provider key
variable (the providers' own, and any ``api_key_env`` of the config), or that
contains the value of one, is refused with an error naming the entry. A stdio
server's environment is otherwise the SDK's minimal one (``HOME``, ``LOGNAME``,
``PATH``, ``SHELL``, ``TERM``, ``USER``) plus exactly what ``env`` names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from ikigai.engine.settings import McpServerSettings

_MIN_SECRET_LENGTH = 8
"""Shorter values are too likely to occur by chance to be searched for."""


class LaunchError(Exception):
    """The server cannot be started as configured; the message says which entry and why."""


@dataclass(frozen=True, slots=True)
class Launch:
    """How to start one server: a command (stdio) or a URL (streamable HTTP)."""

    name: str
    timeout: float
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def transport(self) -> str:
        """``stdio`` or ``http``."""
        return "stdio" if self.command is not None else "http"


def prepare(
    name: str,
    settings: McpServerSettings,
    *,
    secret_names: Iterable[str],
    cwd: Path,
    environ: Mapping[str, str] | None = None,
) -> Launch:
    """The ``Launch`` for server ``name``; ``LaunchError`` for a variable that is not set,
    a provider key, or a working directory that does not exist."""
    source = os.environ if environ is None else environ
    secrets = frozenset(secret_names)
    secret_values = [
        value
        for key, value in source.items()
        if key in secrets and len(value) >= _MIN_SECRET_LENGTH
    ]

    def expand(table: str, values: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, raw in values.items():
            where = f"[mcp.servers.{name}] {table}.{key}"
            template = Template(raw)
            if not template.is_valid():
                raise LaunchError(f"{where}: invalid variable reference in {raw!r} (use $NAME)")
            for variable in template.get_identifiers():
                if variable in secrets:
                    raise LaunchError(
                        f"{where} names {variable}, a provider API key: "
                        "ikigai never passes provider keys to MCP servers"
                    )
                if variable not in source:
                    raise LaunchError(f"{where}: environment variable {variable} is not set")
            value = template.substitute(source)
            if any(secret in value for secret in secret_values):
                raise LaunchError(
                    f"{where} holds a provider API key: "
                    "ikigai never passes provider keys to MCP servers"
                )
            out[key] = value
        return out

    if settings.url is not None:
        return Launch(
            name=name,
            timeout=settings.timeout,
            url=settings.url,
            headers=expand("headers", settings.headers),
        )
    assert settings.command is not None  # the schema requires command or url
    directory: Path | None = None
    if settings.cwd:
        directory = Path(cwd, os.path.expanduser(settings.cwd))
        if not directory.is_dir():
            raise LaunchError(f"[mcp.servers.{name}] cwd {settings.cwd!r} is not a directory")
    return Launch(
        name=name,
        timeout=settings.timeout,
        command=settings.command,
        args=settings.args,
        env=expand("env", settings.env),
        cwd=directory,
    )
