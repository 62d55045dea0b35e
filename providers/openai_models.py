"""OpenAI's models and the reasoning effort each accepts, for both OpenAI wire APIs.

Chat Completions (``reasoning_effort``) and Responses (``reasoning.effort``)
take the same values for the same model, so one table serves both providers.
What the API accepts, as OpenAI documents it and as its 400s say:

* ``gpt-5``, ``gpt-5-mini``, ``gpt-5-nano``: ``minimal | low | medium | high``;
* ``gpt-5.1`` and later (``gpt-5.2``, codex variants): ``none | low | medium |
  high`` (``'minimal' is not supported with the 'gpt-5.1' model``), so the
  lowest level asks for ``low``;
* ``gpt-5-pro``: ``high`` only;
* the chat models (``gpt-5-chat-latest``, ``gpt-5.1-chat-latest``, ...):
  no reasoning parameter at all (``Unsupported parameter: 'reasoning.effort'
  is not supported with this model``);
* the o-series (``o1``, ``o3``, ``o3-mini``, ``o4-mini``): ``low | medium |
  high``; ``o1-mini`` and ``o1-preview`` take none;
* GPT-4 models take none.

A model no row covers (a fine-tune, or any model of an OpenAI-compatible
server) gets no reasoning parameter: a request without one works on every
model, while one sent to a model without reasoning is a 400.

From ``gpt-5.3-codex`` on, assistant messages carry a ``phase``
(``commentary`` for text between tool calls, ``final_answer`` for the answer)
that must be sent back on later requests (feature ``phase``). Sampling
parameters (``temperature``, ``top_p``) are accepted only by models without
reasoning.
"""

from __future__ import annotations

from ikigai.providers.models import ModelLookup, ModelSpec, lookup
from ikigai.providers.request import ThinkingLevel

# ``thinking`` values of this table:
#   effort      -> effort minimal|low|medium|high
#   effort-low  -> the lowest effort is "low" ("minimal" is refused)
#   effort-high -> only "high" is accepted
#   none        -> no reasoning parameters at all (sending them is a 400)
_PHASE = frozenset({"phase"})

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gpt-5", "effort", 128_000, sampling=False),
    ModelSpec("gpt-5.", "effort-low", 128_000, sampling=False, listed=False),
    ModelSpec("gpt-5.1", "effort-low", 128_000, sampling=False),
    ModelSpec("gpt-5.2", "effort-low", 128_000, sampling=False),
    ModelSpec("gpt-5.3", "effort-low", 128_000, sampling=False, features=_PHASE, listed=False),
    ModelSpec("gpt-5.3-codex", "effort-low", 128_000, sampling=False, features=_PHASE),
    ModelSpec("gpt-5.4", "effort-low", 128_000, sampling=False, features=_PHASE),
    ModelSpec("gpt-5.5", "effort-low", 128_000, sampling=False, features=_PHASE),
    ModelSpec("gpt-5-pro", "effort-high", 272_000, sampling=False),
    ModelSpec("gpt-5-chat", "none", 16_384),
    ModelSpec("gpt-5.1-chat", "none", 16_384),
    ModelSpec("gpt-5.2-chat", "none", 16_384),
    ModelSpec("gpt-4.1", "none", 32_768),
    ModelSpec("gpt-4o", "none", 16_384),
    ModelSpec("gpt-4", "none", 8_192),
    ModelSpec("o1", "effort-low", 100_000, sampling=False),
    ModelSpec("o1-mini", "none", 65_536, sampling=False),
    ModelSpec("o1-preview", "none", 32_768, sampling=False),
    ModelSpec("o3", "effort-low", 100_000, sampling=False),
    ModelSpec("o4-mini", "effort-low", 100_000, sampling=False),
    ModelSpec("codex-mini", "effort-low", 100_000, sampling=False),
)

DEFAULT_MODEL = ModelSpec("", "none", 16_384)

_EFFORT: dict[ThinkingLevel, str] = {
    "min": "minimal",
    "low": "low",
    "med": "medium",
    "high": "high",
}


def model_lookup(model: str, provider: str) -> ModelLookup:
    """The table row for ``model`` and, when no row covers it, a warning naming ``provider``."""
    return lookup(MODELS, model, DEFAULT_MODEL, provider)


def model_spec(model: str) -> ModelSpec:
    """The table row for ``model`` (the default row when it is unknown)."""
    return lookup(MODELS, model, DEFAULT_MODEL, "openai").spec


def reasoning_effort(spec: ModelSpec, level: ThinkingLevel) -> str | None:
    """The effort value for a thinking level on a ``spec`` model, or None for no reasoning."""
    if spec.thinking == "none":
        return None
    if spec.thinking == "effort-high":
        return "high"
    if spec.thinking == "effort-low" and level == "min":
        return "low"
    return _EFFORT[level]


def sampling_params(
    spec: ModelSpec, temperature: float | None, top_p: float | None
) -> dict[str, float]:
    """``temperature`` / ``top_p`` for a model that accepts them (reasoning models refuse both)."""
    if not spec.sampling or spec.thinking != "none":
        return {}
    params: dict[str, float] = {}
    if temperature is not None:
        params["temperature"] = temperature
    if top_p is not None:
        params["top_p"] = top_p
    return params
