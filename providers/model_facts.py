"""What is known about a model: its context window, its longest answer, its prices.

One table of known models (``BUILTIN``), overridable and extendable in the
config (``[models."<model id>"]``, or ``[models."provider/model"]`` to win for
one provider only). ``facts(provider, model, overrides)`` is the one lookup
everyone uses (the engine's cost and window meter, ``ikigai models``);
``ModelFacts.cost(usage)`` prices one response.

Prices are US dollars per million tokens, as the vendors publish them; the
table is a snapshot (see ``PRICES_AS_OF``) and the config wins over it. A
model the table does not name, or a price it does not know, gives no cost
rather than a guessed one: ``cost`` returns ``None``. A dated snapshot of a
model (``claude-sonnet-4-5-20250929``, ``gpt-4o-2024-08-06``) shares its
model's row unless the table names the snapshot itself (older snapshots were
sometimes priced differently, and those are listed).

Token counts follow the normalized ``Usage``: ``input_tokens`` is all the
input with ``cached_tokens`` a part of it, and ``output_tokens`` includes the
reasoning tokens (billed as output everywhere). Anthropic's cache writes are
counted as ordinary input (they cost 1.25x that), so a response that writes
the prompt cache is priced a little low.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from ikigai.providers.events import Usage

PRICES_AS_OF = "2026-01"
"""When the built-in prices were last checked against the vendors' price lists."""

PER_MILLION = 1_000_000


class FactsOverride(Protocol):
    """One ``[models."<id>"]`` table of the config: any field may be left out (``None``)."""

    @property
    def context_window(self) -> int | None: ...
    @property
    def max_output_tokens(self) -> int | None: ...
    @property
    def input_cost(self) -> float | None: ...
    @property
    def cached_input_cost(self) -> float | None: ...
    @property
    def output_cost(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class LongContextPrices:
    """Higher prices for a whole request whose input is above ``above_tokens`` (Gemini Pro)."""

    above_tokens: int
    input_cost: float
    cached_input_cost: float | None
    output_cost: float


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """Window, output bound and prices (USD per million tokens) of one model.

    Any field may be unknown (``None``). ``images`` says whether the model
    takes image input (``None``: not known, the request is sent and the
    provider decides).
    """

    context_window: int | None = None
    max_output_tokens: int | None = None
    input_cost: float | None = None
    cached_input_cost: float | None = None
    output_cost: float | None = None
    images: bool | None = None
    long_context: LongContextPrices | None = None

    @property
    def priced(self) -> bool:
        """Whether input and output prices are known (a cost can be given)."""
        return self.input_cost is not None and self.output_cost is not None

    def cost(self, usage: Usage) -> float | None:
        """The price of one response in USD, or ``None`` when a needed price is unknown.

        Cached input tokens are priced at ``cached_input_cost``; when that is
        unknown and the response read the cache, there is no cost (the input
        price would overstate it).
        """
        input_cost, cached_cost, output_cost = (
            self.input_cost,
            self.cached_input_cost,
            self.output_cost,
        )
        tier = self.long_context
        if tier is not None and usage.input_tokens > tier.above_tokens:
            input_cost, cached_cost, output_cost = (
                tier.input_cost,
                tier.cached_input_cost,
                tier.output_cost,
            )
        if input_cost is None or output_cost is None:
            return None
        cached = min(max(usage.cached_tokens, 0), max(usage.input_tokens, 0))
        if cached and cached_cost is None:
            return None
        fresh = max(usage.input_tokens, 0) - cached
        total = (
            fresh * input_cost
            + cached * (cached_cost or 0.0)
            + max(usage.output_tokens, 0) * output_cost
        )
        return total / PER_MILLION


_OPENAI = ("openai", "openai-chat")
_ANTHROPIC = ("anthropic",)
_GOOGLE = ("google",)


@dataclass(frozen=True, slots=True)
class _Row:
    model: str
    providers: tuple[str, ...]
    facts: ModelFacts


def _row(
    model: str,
    providers: tuple[str, ...],
    window: int,
    output: int,
    prices: tuple[float, float | None, float] | None,
    *,
    images: bool = True,
    long_context: LongContextPrices | None = None,
) -> _Row:
    input_cost, cached, output_cost = prices if prices is not None else (None, None, None)
    return _Row(
        model,
        providers,
        ModelFacts(window, output, input_cost, cached, output_cost, images, long_context),
    )


BUILTIN: tuple[_Row, ...] = (
    # Anthropic: cache reads are a tenth of the input price.
    _row("claude-opus-4-7", _ANTHROPIC, 1_000_000, 128_000, None),
    _row("claude-opus-4-6", _ANTHROPIC, 1_000_000, 128_000, (5.0, 0.5, 25.0)),
    _row("claude-sonnet-4-6", _ANTHROPIC, 1_000_000, 64_000, (3.0, 0.3, 15.0)),
    _row("claude-opus-4-5", _ANTHROPIC, 200_000, 64_000, (5.0, 0.5, 25.0)),
    _row("claude-opus-4-1", _ANTHROPIC, 200_000, 32_000, (15.0, 1.5, 75.0)),
    _row("claude-opus-4", _ANTHROPIC, 200_000, 32_000, (15.0, 1.5, 75.0)),
    _row("claude-opus-4-0", _ANTHROPIC, 200_000, 32_000, (15.0, 1.5, 75.0)),
    _row("claude-sonnet-4-5", _ANTHROPIC, 200_000, 64_000, (3.0, 0.3, 15.0)),
    _row("claude-sonnet-4", _ANTHROPIC, 200_000, 64_000, (3.0, 0.3, 15.0)),
    _row("claude-sonnet-4-0", _ANTHROPIC, 200_000, 64_000, (3.0, 0.3, 15.0)),
    _row("claude-haiku-4-5", _ANTHROPIC, 200_000, 64_000, (1.0, 0.1, 5.0)),
    _row("claude-3-7-sonnet", _ANTHROPIC, 200_000, 64_000, (3.0, 0.3, 15.0)),
    _row("claude-3-5-sonnet", _ANTHROPIC, 200_000, 8_192, (3.0, 0.3, 15.0)),
    _row("claude-3-5-haiku", _ANTHROPIC, 200_000, 8_192, (0.8, 0.08, 4.0)),
    _row("claude-3-opus", _ANTHROPIC, 200_000, 4_096, (15.0, 1.5, 75.0)),
    _row("claude-3-haiku", _ANTHROPIC, 200_000, 4_096, (0.25, 0.03, 1.25)),
    # OpenAI (both wire APIs): the GPT-5 window is 400k, of which 128k may be output.
    _row("gpt-5", _OPENAI, 400_000, 128_000, (1.25, 0.125, 10.0)),
    _row("gpt-5-mini", _OPENAI, 400_000, 128_000, (0.25, 0.025, 2.0)),
    _row("gpt-5-nano", _OPENAI, 400_000, 128_000, (0.05, 0.005, 0.4)),
    _row("gpt-5-pro", _OPENAI, 400_000, 272_000, (15.0, 15.0, 120.0)),
    _row("gpt-5-codex", _OPENAI, 400_000, 128_000, (1.25, 0.125, 10.0)),
    _row("gpt-5-chat", _OPENAI, 128_000, 16_384, (1.25, 0.125, 10.0)),
    _row("gpt-5.1", _OPENAI, 400_000, 128_000, (1.25, 0.125, 10.0)),
    _row("gpt-5.1-codex", _OPENAI, 400_000, 128_000, (1.25, 0.125, 10.0)),
    _row("gpt-5.1-chat", _OPENAI, 128_000, 16_384, (1.25, 0.125, 10.0)),
    _row("gpt-4.1", _OPENAI, 1_047_576, 32_768, (2.0, 0.5, 8.0)),
    _row("gpt-4.1-mini", _OPENAI, 1_047_576, 32_768, (0.4, 0.1, 1.6)),
    _row("gpt-4.1-nano", _OPENAI, 1_047_576, 32_768, (0.1, 0.025, 0.4)),
    _row("gpt-4o", _OPENAI, 128_000, 16_384, (2.5, 1.25, 10.0)),
    _row("gpt-4o-2024-05-13", _OPENAI, 128_000, 4_096, (5.0, None, 15.0)),
    _row("gpt-4o-mini", _OPENAI, 128_000, 16_384, (0.15, 0.075, 0.6)),
    _row("o1", _OPENAI, 200_000, 100_000, (15.0, 7.5, 60.0)),
    _row("o1-mini", _OPENAI, 128_000, 65_536, (1.1, 0.55, 4.4), images=False),
    _row("o3", _OPENAI, 200_000, 100_000, (2.0, 0.5, 8.0)),
    _row("o3-mini", _OPENAI, 200_000, 100_000, (1.1, 0.55, 4.4), images=False),
    _row("o4-mini", _OPENAI, 200_000, 100_000, (1.1, 0.275, 4.4)),
    _row("gpt-4-turbo", _OPENAI, 128_000, 4_096, (10.0, None, 30.0)),
    _row("gpt-4", _OPENAI, 8_192, 8_192, (30.0, None, 60.0), images=False),
    _row("gpt-3.5-turbo", _OPENAI, 16_385, 4_096, (0.5, None, 1.5), images=False),
    # Google: Pro models cost more for a request whose input is above 200k tokens.
    _row(
        "gemini-3-pro-preview",
        _GOOGLE,
        1_048_576,
        65_536,
        (2.0, 0.2, 12.0),
        long_context=LongContextPrices(200_000, 4.0, 0.4, 18.0),
    ),
    _row("gemini-3-flash-preview", _GOOGLE, 1_048_576, 65_536, None),
    _row(
        "gemini-2.5-pro",
        _GOOGLE,
        1_048_576,
        65_536,
        (1.25, 0.125, 10.0),
        long_context=LongContextPrices(200_000, 2.5, 0.25, 15.0),
    ),
    _row("gemini-2.5-flash", _GOOGLE, 1_048_576, 65_536, (0.3, 0.03, 2.5)),
    _row("gemini-2.5-flash-lite", _GOOGLE, 1_048_576, 65_536, (0.1, 0.01, 0.4)),
    _row("gemini-2.0-flash", _GOOGLE, 1_048_576, 8_192, (0.1, 0.025, 0.4)),
    _row("gemini-2.0-flash-lite", _GOOGLE, 1_048_576, 8_192, (0.075, None, 0.3)),
)

_BY_MODEL: dict[str, list[_Row]] = {}
for _entry in BUILTIN:
    _BY_MODEL.setdefault(_entry.model, []).append(_entry)

_SNAPSHOT_SUFFIX = re.compile(r"(?:-\d{8}|-\d{4}-\d{2}-\d{2}|-\d{3}|-latest|@\d{8})$")
"""A version pin after a model id: a date, a three-digit revision or ``-latest``."""


def _bare(model: str) -> str:
    return model.strip().removeprefix("models/")


def _candidates(model: str) -> list[str]:
    """``model``, then ``model`` without a snapshot suffix (when it has one)."""
    bare = _bare(model)
    stripped = _SNAPSHOT_SUFFIX.sub("", bare)
    return [bare, stripped] if stripped and stripped != bare else [bare]


def builtin_facts(provider: str, model: str) -> ModelFacts | None:
    """The table's facts for ``model`` served by ``provider``, or ``None``."""
    for name in _candidates(model):
        for entry in _BY_MODEL.get(name, ()):
            if provider in entry.providers:
                return entry.facts
    return None


def builtin_models(provider: str) -> list[str]:
    """The model ids the table knows for ``provider``, in table order."""
    return [entry.model for entry in BUILTIN if provider in entry.providers]


def _override_for(
    provider: str, model: str, overrides: Mapping[str, FactsOverride]
) -> list[FactsOverride]:
    """The config tables that apply, weakest first: the bare id, then ``provider/model``."""
    found: list[FactsOverride] = []
    for name in reversed(_candidates(model)):
        for key in (name, f"{provider}/{name}"):
            entry = overrides.get(key)
            if entry is not None:
                found.append(entry)
    return found


def _apply(base: ModelFacts, entry: FactsOverride) -> ModelFacts:
    changes: dict[str, object] = {}
    for name in (
        "context_window",
        "max_output_tokens",
        "input_cost",
        "cached_input_cost",
        "output_cost",
    ):
        value = getattr(entry, name)
        if value is not None:
            changes[name] = value
    if any(name.endswith("_cost") for name in changes):
        # Configured prices replace the table's, including its long-context tier.
        changes["long_context"] = None
    return replace(base, **changes)  # type: ignore[arg-type]


def facts(
    provider: str, model: str, overrides: Mapping[str, FactsOverride] | None = None
) -> ModelFacts | None:
    """What is known about ``model`` served by ``provider``: the table's row with the
    config's ``[models]`` tables applied (``provider/model`` last, so it wins), or
    ``None`` when neither knows the model."""
    base = builtin_facts(provider, model)
    applied = _override_for(provider, model, overrides or {})
    if base is None and not applied:
        return None
    result = base or ModelFacts()
    for entry in applied:
        result = _apply(result, entry)
    return result


def known_model_ids(overrides: Iterable[str] = ()) -> list[str]:
    """Every model id the table names, then the config's own (for completion and lists)."""
    seen: dict[str, None] = {entry.model: None for entry in BUILTIN}
    for key in overrides:
        seen[key] = None
    return list(seen)
