"""Helpers for the JSON ``data`` column: no key is ever stored with a null value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def without_nulls(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` without top-level keys whose value is ``None``."""
    return {key: value for key, value in data.items() if value is not None}


def compact(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` without keys that carry nothing: ``None``, ``""``, ``[]``, ``{}``.

    Zero and ``False`` are values and are kept.
    """
    return {
        key: value
        for key, value in data.items()
        if value is not None and not (isinstance(value, str | list | dict | tuple) and not value)
    }


def encode(data: Mapping[str, Any] | None) -> str:
    """Serialize metadata for the ``data`` column (compact, UTF-8, no nulls at top level)."""
    if data is None:
        return "{}"
    if not isinstance(data, Mapping):
        raise TypeError(f"message data must be a mapping, not {type(data).__name__}")
    return json.dumps(without_nulls(data), ensure_ascii=False, separators=(",", ":"))


def decode(text: str | None) -> dict[str, Any]:
    """Parse a ``data`` column value into a dict."""
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
