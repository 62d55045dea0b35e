"""The environment given to subprocesses the model starts: an allow-list, secrets withheld.

A command the model runs must not be able to read the user's provider keys
(``env``, ``echo $OPENAI_API_KEY``, a script that uploads them) nor other
credentials that happen to be exported (``GITHUB_TOKEN``, ``AWS_*``...). So a
subprocess does not inherit ikigai's environment: it gets the variables named
by ``DEFAULT_ENV_ALLOW`` (``PATH``, ``HOME``, locale...) and
``ToolContext.env_allow``, plus ``ToolContext.extra_env`` (the ``[tools.env]``
table). From that, three things are removed:

- provider keys, always: the known provider variables, any name ending in
  ``_API_KEY``, the context's ``secret_env_names`` (a profile's
  ``api_key_env``), and any variable whose value contains one of those keys'
  values (a copy under another name);
- names matching ``ToolContext.secret_patterns`` (``*TOKEN*``, ``*SECRET*``...),
  even when allowed or set explicitly, unless the configuration changes that
  list.

Reading keys from ikigai's own process instead (``/proc/$PPID/environ``) is
prevented by ``ikigai.engine.hardening.protect_process``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from ikigai.engine.tools.base import DEFAULT_ENV_ALLOW, ToolContext

PROVIDER_KEY_VARIABLES = frozenset(
    {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"}
)
"""Variables holding provider keys, always removed."""

MIN_SECRET_VALUE_CHARS = 8
"""Key values shorter than this are not searched for in other variables' values
(a key of ``x`` would withhold every variable containing an ``x``)."""


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether variable ``name`` holds a provider key and must never reach a subprocess."""
    return (
        name in PROVIDER_KEY_VARIABLES
        or name.upper().endswith("_API_KEY")
        or name in frozenset(extra)
    )


def scrub_env(env: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """A copy of ``env`` without provider keys, ``*_API_KEY`` names and ``extra`` names."""
    secret = frozenset(extra)
    return {name: value for name, value in env.items() if not is_secret_name(name, secret)}


def matches_any(name: str, patterns: Iterable[str], *, fold_case: bool = False) -> bool:
    """Whether ``name`` matches one of the ``fnmatch`` ``patterns``."""
    if fold_case:
        name = name.upper()
        return any(fnmatchcase(name, pattern.upper()) for pattern in patterns)
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _key_values(context: ToolContext, base: Mapping[str, str]) -> frozenset[str]:
    """The values of every provider-key variable ikigai can see, for the copy check."""
    values: set[str] = set()
    for env in (os.environ, base):
        values.update(
            value
            for name, value in env.items()
            if is_secret_name(name, context.secret_env_names)
            and len(value) >= MIN_SECRET_VALUE_CHARS
        )
    return frozenset(values)


def _withheld(name: str, value: str, context: ToolContext, keys: frozenset[str]) -> bool:
    return (
        is_secret_name(name, context.secret_env_names)
        or matches_any(name, context.secret_patterns, fold_case=True)
        or any(key in value for key in keys)
    )


def _requested(context: ToolContext) -> dict[str, str]:
    """Allow-listed variables of the base environment plus the explicit ones."""
    base = os.environ if context.env is None else context.env
    allow = (*DEFAULT_ENV_ALLOW, *context.env_allow)
    chosen = {name: value for name, value in base.items() if matches_any(name, allow)}
    chosen.update(context.extra_env)
    return chosen


def subprocess_env(context: ToolContext) -> dict[str, str]:
    """The environment for a subprocess started under ``context`` (see the module doc)."""
    base = os.environ if context.env is None else context.env
    keys = _key_values(context, base)
    return {
        name: value
        for name, value in _requested(context).items()
        if not _withheld(name, value, context, keys)
    }


def withheld_names(context: ToolContext) -> list[str]:
    """Names the configuration asked for explicitly that subprocesses will not get.

    These are ``extra_env`` keys and literal ``env_allow`` names present in the
    environment that a secret rule removes; the front end can warn about them
    once, so a withheld ``GITHUB_TOKEN`` is not a silent surprise.
    """
    base = os.environ if context.env is None else context.env
    keys = _key_values(context, base)
    explicit = dict(context.extra_env)
    for name in context.env_allow:
        if name in base and name not in explicit:
            explicit[name] = base[name]
    return sorted(name for name, value in explicit.items() if _withheld(name, value, context, keys))
