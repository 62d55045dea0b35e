"""Provider ids, their defaults, model-name routing and construction.

The table here is the contract's: ids, default base URLs and the environment
variables that hold keys. Provider classes are imported only when used, so a
headless run pays for one wire format, not four.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.providers.base import HttpProvider
    from ikigai.providers.http import ProviderOptions


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """Static facts about one provider id."""

    id: str
    default_base_url: str
    key_env_vars: tuple[str, ...]
    implementation: str  # "module:Class"
    wire_api: str


PROVIDERS: dict[str, ProviderInfo] = {
    info.id: info
    for info in (
        ProviderInfo(
            "openai",
            "https://api.openai.com/v1",
            ("OPENAI_API_KEY",),
            "ikigai.providers.openai_responses:OpenAIResponsesProvider",
            "OpenAI Responses",
        ),
        ProviderInfo(
            "openai-chat",
            "https://api.openai.com/v1",
            ("OPENAI_API_KEY",),
            "ikigai.providers.openai_chat:OpenAIChatProvider",
            "OpenAI Chat Completions",
        ),
        ProviderInfo(
            "anthropic",
            "https://api.anthropic.com",
            ("ANTHROPIC_API_KEY",),
            "ikigai.providers.anthropic:AnthropicProvider",
            "Anthropic Messages",
        ),
        ProviderInfo(
            "google",
            "https://generativelanguage.googleapis.com",
            ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            "ikigai.providers.google:GoogleProvider",
            "Google Gemini",
        ),
    )
}

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "google"),
)


class UnknownProviderError(ValueError):
    """A provider id or model name that names no known provider."""


def provider_ids() -> list[str]:
    return list(PROVIDERS)


def split_model(spec: str) -> tuple[str, str]:
    """``provider/model`` or a bare model name -> ``(provider_id, model)``.

    Only a known provider id before the first ``/`` counts as a provider, so
    model names that contain slashes (``meta-llama/llama-3``) stay whole.
    """
    spec = spec.strip()
    head, slash, rest = spec.partition("/")
    if slash and head in PROVIDERS:
        if not rest:
            raise UnknownProviderError(f"no model named after '{head}/'")
        return head, rest
    provider = infer_provider(spec)
    if provider is None:
        raise UnknownProviderError(
            f"cannot tell the provider of model '{spec}': write it as PROVIDER/MODEL "
            f"(providers: {', '.join(PROVIDERS)})"
        )
    return provider, spec


def infer_provider(model: str) -> str | None:
    """The provider a bare model name belongs to, by its prefix."""
    for prefix, provider in _PREFIXES:
        if model.startswith(prefix):
            return provider
    return None


def provider_info(provider_id: str) -> ProviderInfo:
    try:
        return PROVIDERS[provider_id]
    except KeyError:
        raise UnknownProviderError(
            f"unknown provider '{provider_id}' (known: {', '.join(PROVIDERS)})"
        ) from None


def create_provider(provider_id: str, options: ProviderOptions) -> HttpProvider:
    """An instance of the provider ``provider_id`` with ``options``."""
    info = provider_info(provider_id)
    module_name, _, class_name = info.implementation.partition(":")
    cls: type[HttpProvider] = getattr(importlib.import_module(module_name), class_name)
    return cls(options)
