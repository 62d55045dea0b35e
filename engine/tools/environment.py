"""The environment given to subprocesses the model starts: API keys removed.

A command the model runs must not be able to read the user's provider keys
(``env``, ``echo $OPENAI_API_KEY``, a script that uploads them). The known
provider variables, any name ending in ``_API_KEY``, and any name the caller
adds (for instance a profile's ``api_key_env``) are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from ikigai.engine.tools.base import ToolContext

PROVIDER_KEY_VARIABLES = frozenset(
    {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"}
)
"""Variables holding provider keys, always removed."""


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether variable ``name`` must not reach a subprocess."""
    return (
        name in PROVIDER_KEY_VARIABLES
        or name.upper().endswith("_API_KEY")
        or name in frozenset(extra)
    )


def scrub_env(env: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """A copy of ``env`` without provider keys, ``*_API_KEY`` names and ``extra`` names."""
    secret = frozenset(extra)
    return {name: value for name, value in env.items() if not is_secret_name(name, secret)}


def subprocess_env(context: ToolContext) -> dict[str, str]:
    """The scrubbed environment for a subprocess started under ``context``."""
    base = os.environ if context.env is None else context.env
    return scrub_env(base, context.secret_env_names)
