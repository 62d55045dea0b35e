"""Model-list replies in each vendor's documented JSON shape, for ``GET .../models``.

OpenAI and every compatible server (Ollama, llama.cpp, vLLM, OpenRouter) answer
``{"object": "list", "data": [{"id": ...}]}``; Anthropic ``GET /v1/models``
answers ``{"data": [{"type": "model", "id": ..., "display_name": ...}],
"has_more": ..., "last_id": ...}`` and pages with ``after_id``; Gemini
``models.list`` answers ``{"models": [{"name": "models/...", ...}],
"nextPageToken": ...}``. The shapes follow each API's reference pages.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakeserver.script import Raw


def _raw(payload: dict[str, Any]) -> Raw:
    return Raw(json.dumps(payload).encode(), status=200, content_type="application/json")


def openai_models(*ids: str, owned_by: str = "openai") -> Raw:
    """``GET {base}/models`` of OpenAI or a compatible server."""
    return _raw(
        {
            "object": "list",
            "data": [
                {"id": i, "object": "model", "created": 1_700_000_000, "owned_by": owned_by}
                for i in ids
            ],
        }
    )


def anthropic_models(*ids: str, has_more: bool = False) -> Raw:
    """One page of ``GET /v1/models`` (``has_more`` asks the client for the next page)."""
    return _raw(
        {
            "data": [
                {
                    "type": "model",
                    "id": i,
                    "display_name": i.replace("-", " ").title(),
                    "created_at": "2026-01-01T00:00:00Z",
                }
                for i in ids
            ],
            "has_more": has_more,
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
        }
    )


def gemini_models(*models: dict[str, Any] | str, next_page: str | None = None) -> Raw:
    """One page of ``models.list``; a bare id becomes a model that generates content."""
    entries: list[dict[str, Any]] = []
    for model in models:
        if isinstance(model, str):
            model = {
                "name": f"models/{model}",
                "displayName": model,
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
                "thinking": True,
            }
        entries.append(model)
    payload: dict[str, Any] = {"models": entries}
    if next_page:
        payload["nextPageToken"] = next_page
    return _raw(payload)
