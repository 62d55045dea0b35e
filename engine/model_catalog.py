"""The models a provider offers, merged with what ikigai knows, cached on disk.

``available_models`` is what ``ikigai models`` prints and what the app's
``/model`` completion offers: the server's list (``providers.listing``),
each model annotated from the providers' own tables (thinking mode, output
limit) and, through ``facts``, from a model-facts table (context window,
prices) where one is given. The list is cached per provider and base URL
(never with the key) for ``CACHE_SECONDS``; ``cached_models`` reads only the
cache, for callers that must not wait (a completion popup).

When the server has no list (404, an HTML page, another JSON shape) or cannot
be asked (no key), the answer is ikigai's known list with a note saying why;
when the request fails, the last cached list if there is one, else the known
list, with the failure in ``note`` and ``error_category`` set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ikigai.engine.private_files import write_private
from ikigai.providers.listing import ListedModel, ListingError, describe, known_models, list_models

if TYPE_CHECKING:
    from ikigai.engine.settings import RunConfig
    from ikigai.providers.http import ProviderOptions

CACHE_SECONDS = 24 * 3600
Source = Literal["server", "cache", "known"]
Facts = Callable[[str, str], Mapping[str, Any] | None]
"""``facts(provider, model)``: context window and prices of a model, or None.

The keys merged into ``ModelInfo`` are ``context_window``, ``max_output_tokens``,
``input_cost``, ``cached_input_cost`` and ``output_cost`` (USD per million
tokens), the names of the ``[models."<id>"]`` config table.
"""
_FACT_KEYS = (
    "context_window",
    "max_output_tokens",
    "input_cost",
    "cached_input_cost",
    "output_cost",
)


def facts_from_table(overrides: Mapping[str, Any] | None = None) -> Facts:
    """The ``Facts`` lookup of ikigai's model-facts table (``providers.model_facts``)
    with the config's ``[models]`` tables applied."""
    from dataclasses import asdict

    from ikigai.providers.model_facts import facts

    def lookup(provider: str, model: str) -> Mapping[str, Any] | None:
        found = facts(provider, model, overrides)
        if found is None:
            return None
        values = asdict(found)
        return {key: values.get(key) for key in _FACT_KEYS}

    return lookup


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model of a provider, with what is known about it.

    ``listed``: the server offered it; ``known``: a row of ikigai's table
    covers it (else ``thinking`` and ``max_output_tokens`` are the provider's
    defaults for models it does not know, and say so by ``known`` False).
    """

    id: str
    provider: str
    listed: bool
    known: bool
    thinking: str
    max_output_tokens: int | None
    display_name: str | None = None
    context_window: int | None = None
    input_cost: float | None = None
    cached_input_cost: float | None = None
    output_cost: float | None = None

    @property
    def model_spec(self) -> str:
        """``provider/model``, as ``/model`` and ``--model`` take it."""
        return f"{self.provider}/{self.id}"

    def as_data(self) -> dict[str, Any]:
        """The JSON form (``ikigai models --output json``); unknown values are omitted."""
        data: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "listed": self.listed,
            "known": self.known,
            "thinking": self.thinking,
        }
        for key in ("max_output_tokens", "display_name", *_FACT_KEYS):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True, slots=True)
class ModelCatalog:
    """A provider's models, where the list came from, and a note when it is not the server's."""

    provider: str
    base_url: str
    models: list[ModelInfo]
    source: Source
    note: str | None = None
    error_category: str | None = None
    """Set when the server was asked and failed (network, auth, ...)."""
    fetched_at: float | None = None

    def ids(self) -> list[str]:
        """``provider/model`` of every model, for completion."""
        return [model.model_spec for model in self.models]

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "provider": self.provider,
            "base_url": self.base_url,
            "source": self.source,
            "models": [model.as_data() for model in self.models],
        }
        if self.note:
            data["note"] = self.note
        if self.error_category:
            data["error_category"] = self.error_category
        return data


def default_cache_dir() -> Path:
    """``<user cache dir>/ikigai/models``."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ikigai", appauthor=False)) / "models"


def cache_path(provider: str, base_url: str, cache_dir: Path | None = None) -> Path:
    """The cache file of ``provider`` at ``base_url`` (the key is never part of it)."""
    digest = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:16]
    return (cache_dir or default_cache_dir()) / f"{provider}-{digest}.json"


async def available_models(
    provider: str,
    options: ProviderOptions,
    *,
    key_missing: bool = False,
    refresh: bool = False,
    facts: Facts | None = None,
    cache_dir: Path | None = None,
    now: Callable[[], float] = time.time,
) -> ModelCatalog:
    """The models of ``provider`` at ``options.base_url`` (see the module docstring).

    ``key_missing``: the provider needs a key and none is set, so the server
    is not asked. ``refresh`` ignores a fresh cache.
    """
    base_url = options.base_url
    path = cache_path(provider, base_url, cache_dir)
    cached = _read_cache(path)
    if cached is not None and not refresh and now() - cached[0] < CACHE_SECONDS:
        return _catalog(provider, base_url, cached[1], "cache", facts, fetched_at=cached[0])
    if key_missing:
        return _known(provider, base_url, facts, "no API key is set: this is ikigai's own list")
    try:
        listed = await list_models(provider, options)
    except ListingError as exc:
        if exc.unsupported:
            return _known(provider, base_url, facts, f"{exc}; this is ikigai's own list")
        if cached is not None:
            note = f"could not refresh the list ({exc}); showing the one fetched earlier"
            return _catalog(
                provider,
                base_url,
                cached[1],
                "cache",
                facts,
                note=note,
                error=exc.category,
                fetched_at=cached[0],
            )
        return _known(
            provider, base_url, facts, f"{exc}; this is ikigai's own list", error=exc.category
        )
    fetched = now()
    _write_cache(path, base_url, fetched, listed)
    return _catalog(provider, base_url, listed, "server", facts, fetched_at=fetched)


async def available_models_for(run: RunConfig, **options: Any) -> ModelCatalog:
    """``available_models`` for the provider a run configuration uses."""
    return await available_models(
        run.provider, run.options, key_missing=bool(run.missing_key_vars), **options
    )


def cached_models(
    provider: str, base_url: str, *, facts: Facts | None = None, cache_dir: Path | None = None
) -> ModelCatalog:
    """What can be said without asking the server: the cached list (however old), else
    the known list. Never waits on the network (a completion popup calls it)."""
    cached = _read_cache(cache_path(provider, base_url, cache_dir))
    if cached is None:
        return _known(provider, base_url, facts, None)
    return _catalog(provider, base_url, cached[1], "cache", facts, fetched_at=cached[0])


def merge(
    provider: str, listed: list[ListedModel], *, facts: Facts | None = None
) -> list[ModelInfo]:
    """The server's models annotated with the table's and ``facts``' knowledge, sorted by id."""
    out = []
    for model in sorted(listed, key=lambda m: m.id):
        spec, known = describe(provider, model.id)
        values: dict[str, Any] = {
            "max_output_tokens": model.output_limit or (spec.max_output_tokens if known else None),
            "context_window": model.input_limit,
        }
        values.update(_facts(facts, provider, model.id))
        out.append(
            ModelInfo(
                model.id,
                provider,
                listed=True,
                known=known,
                thinking=thinking_kind(spec.thinking),
                display_name=model.display_name,
                **values,
            )
        )
    return out


def thinking_kind(mode: str) -> str:
    """A table's thinking mode as people read it: ``budget``, ``adaptive``, ``effort``,
    ``level`` or ``none`` (the table's variants, such as ``effort-low``, say which
    values a model takes, not how it thinks)."""
    return mode.partition("-")[0]


def _facts(facts: Facts | None, provider: str, model: str) -> dict[str, Any]:
    if facts is None:
        return {}
    found = facts(provider, model) or {}
    return {key: found[key] for key in _FACT_KEYS if found.get(key) is not None}


def _catalog(
    provider: str,
    base_url: str,
    listed: list[ListedModel],
    source: Source,
    facts: Facts | None,
    *,
    note: str | None = None,
    error: str | None = None,
    fetched_at: float | None = None,
) -> ModelCatalog:
    return ModelCatalog(
        provider,
        _public(base_url),
        merge(provider, listed, facts=facts),
        source,
        note,
        error,
        fetched_at,
    )


def _known(
    provider: str, base_url: str, facts: Facts | None, note: str | None, *, error: str | None = None
) -> ModelCatalog:
    models = []
    for model_id in known_models(provider):
        spec, _ = describe(provider, model_id)
        values: dict[str, Any] = {"max_output_tokens": spec.max_output_tokens}
        values.update(_facts(facts, provider, model_id))
        models.append(
            ModelInfo(
                model_id, provider, listed=False, known=True, thinking=spec.thinking, **values
            )
        )
    return ModelCatalog(provider, _public(base_url), models, "known", note, error)


def _read_cache(path: Path) -> tuple[float, list[ListedModel]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    fetched = data.get("fetched_at")
    models = data.get("models")
    if not isinstance(fetched, int | float) or not isinstance(models, list):
        return None
    parsed = [ListedModel.from_data(m) for m in models if isinstance(m, dict)]
    return float(fetched), [m for m in parsed if m is not None]


def _public(url: str) -> str:
    """``url`` without a user name or password (a cache file is not for secrets)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _write_cache(path: Path, base_url: str, fetched: float, listed: list[ListedModel]) -> None:
    payload = {
        "base_url": _public(base_url),
        "fetched_at": fetched,
        "models": [model.as_data() for model in listed],
    }
    with contextlib.suppress(OSError):  # a list that cannot be cached is only asked for again
        write_private(path, json.dumps(payload))
