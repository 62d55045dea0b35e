"""Model lists from the servers, and what ikigai's own tables know about each model.

``list_models`` asks a provider's server which models it offers:

* OpenAI and every compatible server (Ollama, llama.cpp, vLLM, OpenRouter):
  ``GET {base}/models`` answering ``{"data": [{"id": ...}]}``;
* Anthropic: ``GET {base}/v1/models``, paged with ``after_id`` while
  ``has_more``;
* Gemini: ``models.list``, ``GET {base}/v1beta/models``, paged with
  ``pageToken``; models that cannot generate content (embeddings) are left out.

Server bytes are data: an id is kept only when it is a short string without
control characters, the body is read up to a bound, every wait is bounded, and
a body that is HTML or not the expected JSON is ``ListingError`` with
``unsupported`` set (the caller falls back to the known list), as is a 404 or
405 from a server that has no model list. The key travels only in the request
headers; error messages never quote it.

``known_models`` and ``describe`` read the providers' model tables (thinking
mode, output limit): the "what ikigai knows" side of a listing.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ikigai.providers import errors
from ikigai.providers.events import ErrorCategory
from ikigai.providers.headers import SecretMasker, check_header_values
from ikigai.providers.http import ProviderOptions, shared_client
from ikigai.providers.models import ModelSpec, known_ids, lookup
from ikigai.providers.registry import create_provider, provider_info

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_PAGES = 20
MAX_MODELS = 5000
MAX_ID_LENGTH = 200

_TABLES: dict[str, str] = {
    "openai": "ikigai.providers.openai_models",
    "openai-chat": "ikigai.providers.openai_models",
    "anthropic": "ikigai.providers.anthropic",
    "google": "ikigai.providers.google",
}
_GENERATES = frozenset({"generateContent", "streamGenerateContent"})


@dataclass(frozen=True, slots=True)
class ListedModel:
    """One model as a server lists it (limits only where the server says)."""

    id: str
    display_name: str | None = None
    input_limit: int | None = None
    output_limit: int | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        for key in ("display_name", "input_limit", "output_limit"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ListedModel | None:
        """A model from ``as_data`` output (a cache file); None when it is not one."""
        model_id = _model_id(data.get("id"))
        if model_id is None:
            return None
        return cls(
            model_id,
            _text(data.get("display_name")),
            _positive(data.get("input_limit")),
            _positive(data.get("output_limit")),
        )


class ListingError(Exception):
    """The server gave no model list.

    ``unsupported``: it has none to give (404, HTML, another JSON shape), so
    the known list is the answer; otherwise the request failed (``category``).
    """

    def __init__(
        self,
        message: str,
        *,
        category: ErrorCategory = "unknown",
        http_status: int | None = None,
        unsupported: bool = False,
    ) -> None:
        super().__init__(message)
        self.category: ErrorCategory = category
        self.http_status = http_status
        self.unsupported = unsupported


def listing_url(provider_id: str, base_url: str) -> str:
    """Where ``provider_id``'s model list is, for a server at ``base_url``."""
    base = base_url.rstrip("/")
    if provider_id == "anthropic":
        return f"{base}/v1/models"
    if provider_id == "google":
        if not base.endswith(("/v1beta", "/v1", "/v1alpha")):
            base += "/v1beta"
        return f"{base}/models"
    return f"{base}/models"


async def list_models(
    provider_id: str, options: ProviderOptions, *, client: httpx.AsyncClient | None = None
) -> list[ListedModel]:
    """The models ``provider_id``'s server at ``options.base_url`` offers, in its order.

    Raises ``ListingError``.
    """
    provider_info(provider_id)  # an unknown id is a caller's error, raised here
    masker = SecretMasker.for_options(options)
    problems = check_header_values(options)
    if problems:
        raise ListingError(f"the request cannot be sent: {'; '.join(problems)}", category="auth")
    provider = create_provider(provider_id, options)
    headers = {"accept": "application/json", **provider.auth_headers(), **options.headers}
    url = listing_url(provider_id, options.base_url)
    http = client or shared_client(url)
    models: list[ListedModel] = []
    params: dict[str, str] = _first_page(provider_id)
    try:
        for _page in range(MAX_PAGES):
            payload = await _get_json(http, url, params, headers, options)
            page, next_params = _parse_page(provider_id, payload)
            models.extend(page)
            if next_params is None or len(models) >= MAX_MODELS:
                break
            params = {**_first_page(provider_id), **next_params}
    except ListingError as exc:
        raise ListingError(
            masker.mask(str(exc)),
            category=exc.category,
            http_status=exc.http_status,
            unsupported=exc.unsupported,
        ) from None
    return _unique(models)[:MAX_MODELS]


def _first_page(provider_id: str) -> dict[str, str]:
    if provider_id == "anthropic":
        return {"limit": "1000"}
    if provider_id == "google":
        return {"pageSize": "1000"}
    return {}


async def _get_json(
    http: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    options: ProviderOptions,
) -> object:
    seconds = options.connect_timeout + options.read_timeout
    try:
        async with asyncio.timeout(seconds):
            async with http.stream(
                "GET", url, params=params, headers=headers, timeout=options.timeout()
            ) as response:
                body = await _read(response)
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                response_headers = response.headers
    except TimeoutError:
        raise ListingError(
            f"no answer from {url} within {seconds:g} s", category="timeout"
        ) from None
    except ListingError:
        raise
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        error = errors.error_from_exception(exc, url)
        raise ListingError(error.message, category=error.category) from None
    if status in (404, 405, 501):
        raise ListingError(
            f"{url} answered HTTP {status}: this server offers no model list",
            http_status=status,
            unsupported=True,
            category="not_found",
        )
    if status >= 300:
        error = errors.error_from_http(status, response_headers, body)
        raise ListingError(error.message, category=error.category, http_status=status)
    head = body.lstrip()[:1]
    if "html" in content_type.lower() or head == b"<":
        raise ListingError(f"{url} answered with an HTML page, not a model list", unsupported=True)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ListingError(
            f"{url} answered with something that is not JSON", unsupported=True
        ) from None


async def _read(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ListingError(
                f"the model list is larger than {MAX_BODY_BYTES:,} bytes", category="server"
            )
        parts.append(chunk)
    return b"".join(parts)


def _parse_page(
    provider_id: str, payload: object
) -> tuple[list[ListedModel], dict[str, str] | None]:
    """The models of one page and the parameters of the next (None: last page)."""
    if not isinstance(payload, dict):
        raise ListingError("the answer is not a model list (not a JSON object)", unsupported=True)
    entries = payload.get("data")
    key = "data"
    if not isinstance(entries, list):
        entries = payload.get("models")  # Gemini, and Ollama's own /api/tags
        key = "models"
    if not isinstance(entries, list):
        raise ListingError(
            "the answer is not a model list (no 'data' or 'models' array)", unsupported=True
        )
    models = [m for m in (_entry(e) for e in entries) if m is not None]
    next_params: dict[str, str] | None = None
    if provider_id == "anthropic" and payload.get("has_more") is True:
        last = _model_id(payload.get("last_id"))
        if last is not None:
            next_params = {"after_id": last}
    elif provider_id == "google" and key == "models":
        token = payload.get("nextPageToken")
        if isinstance(token, str) and token and len(token) <= 1000:
            next_params = {"pageToken": token}
    return models, next_params


def _entry(entry: object) -> ListedModel | None:
    if not isinstance(entry, dict):
        return None
    methods = entry.get("supportedGenerationMethods")
    if isinstance(methods, list) and not _GENERATES.intersection(
        m for m in methods if isinstance(m, str)
    ):
        return None  # an embedding or other non-chat model
    raw_id = entry.get("id")
    if raw_id is None:
        raw_id = entry.get("name")
    if isinstance(raw_id, str):
        raw_id = raw_id.removeprefix("models/")
    model_id = _model_id(raw_id)
    if model_id is None:
        return None
    return ListedModel(
        model_id,
        _text(entry.get("display_name") or entry.get("displayName")),
        _positive(entry.get("inputTokenLimit") or entry.get("max_input_tokens")),
        _positive(entry.get("outputTokenLimit") or entry.get("max_tokens")),
    )


def _model_id(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable() or " " in value:
        return None
    return value


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in value).strip()
    return text[:MAX_ID_LENGTH] or None


def _positive(value: object) -> int | None:
    return value if type(value) is int and value > 0 else None


def _unique(models: list[ListedModel]) -> list[ListedModel]:
    seen: set[str] = set()
    out: list[ListedModel] = []
    for model in models:
        if model.id not in seen:
            seen.add(model.id)
            out.append(model)
    return out


# -- what ikigai knows -------------------------------------------------------------------------


def _table(provider_id: str) -> tuple[tuple[ModelSpec, ...], ModelSpec]:
    module = importlib.import_module(_TABLES[provider_info(provider_id).id])
    return module.MODELS, module.DEFAULT_MODEL


def known_models(provider_id: str) -> list[str]:
    """The model ids ikigai's table for ``provider_id`` names, in table order.

    OpenAI-compatible servers (``openai-chat``) serve any model, so theirs is
    OpenAI's own list.
    """
    table, _default = _table(provider_id)
    return known_ids(table)


def describe(provider_id: str, model: str) -> tuple[ModelSpec, bool]:
    """The table row that applies to ``model`` and whether a row covers it at all."""
    table, default = _table(provider_id)
    found = lookup(table, model.removeprefix("models/"), default, provider_id)
    return found.spec, found.warning is None
