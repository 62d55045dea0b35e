"""Per-model facts shared by all providers: which thinking parameters a model takes.

Each provider module keeps its own table (a tuple of ``ModelSpec`` rows) and
looks models up with ``lookup``: the longest matching prefix wins. A model no
row covers gets the provider's default row and a warning, never a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What one family of models (by name prefix) accepts.

    ``thinking`` names the provider-specific way to ask for reasoning, e.g.
    ``"budget"`` or ``"adaptive"`` (Anthropic), ``"effort"`` (OpenAI),
    ``"budget"`` or ``"level"`` (Gemini), or ``"none"`` for models without it.
    """

    prefix: str
    thinking: str
    max_output_tokens: int
    min_thinking_budget: int = 0
    max_thinking_budget: int = 0
    sampling: bool = True
    """Whether the model accepts ``temperature`` / ``top_p`` / ``top_k`` (newer
    reasoning models answer 400 to any of them)."""
    features: frozenset[str] = frozenset()
    """Provider-specific abilities, e.g. ``interleaved`` (Anthropic's
    interleaved-thinking beta), ``eager_tools`` (fine-grained tool input
    streaming), ``phase`` (OpenAI's message phase)."""
    listed: bool = True
    """Whether ``prefix`` is itself a model id a server accepts (a row like
    ``gpt-5.`` only names a family), so it can be offered in a model list."""


@dataclass(frozen=True, slots=True)
class ModelLookup:
    """The row that applies to a model, and a warning when none matched."""

    spec: ModelSpec
    warning: str | None


def lookup(
    table: Sequence[ModelSpec], model: str, default: ModelSpec, provider: str
) -> ModelLookup:
    """The longest-prefix row of ``table`` for ``model``, else ``default`` with a warning."""
    best: ModelSpec | None = None
    for row in table:
        if model.startswith(row.prefix) and (best is None or len(row.prefix) > len(best.prefix)):
            best = row
    if best is not None:
        return ModelLookup(best, None)
    return ModelLookup(
        default,
        f"model '{model}' is not in ikigai's {provider} table; using defaults "
        f"(thinking: {default.thinking}, max output tokens: {default.max_output_tokens})",
    )


def known_ids(table: Sequence[ModelSpec]) -> list[str]:
    """The ids of ``table`` that name a model (not only a family), in table order."""
    return [row.prefix for row in table if row.listed and row.prefix]
