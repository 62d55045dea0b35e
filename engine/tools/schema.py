"""A validator for the small JSON-schema subset the built-in tools use.

Supported keywords: ``type`` (object, string, integer, number, boolean),
``properties``, ``required``, ``additionalProperties: false``, and
``minimum``/``maximum`` for numbers. That is all the tool schemas need, and a
few dozen lines are easier to trust than a new dependency. Messages name the
offending argument so the model can fix its call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPE_NAMES = {
    "object": "an object",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
}


def _matches_type(value: Any, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise ValueError(f"unsupported schema type {expected!r}")


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def validate(value: Any, schema: Mapping[str, Any], where: str = "arguments") -> list[str]:
    """Return every way ``value`` breaks ``schema`` (empty when it conforms).

    ``where`` names the value in messages, e.g. ``arguments.path``.
    """
    expected = schema.get("type")
    if expected is not None and not _matches_type(value, expected):
        return [f"{where} must be {_TYPE_NAMES[expected]}, got {_json_type_name(value)}"]
    problems: list[str] = []
    if expected in ("integer", "number"):
        minimum = schema.get("minimum")
        maximum = schema.get("maximum")
        if minimum is not None and value < minimum:
            problems.append(f"{where} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            problems.append(f"{where} must be at most {maximum}, got {value}")
    if isinstance(value, dict):
        problems.extend(_validate_object(value, schema, where))
    return problems


def _validate_object(value: dict[str, Any], schema: Mapping[str, Any], where: str) -> list[str]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    problems = [
        f"{where}.{name} is required but missing"
        for name in schema.get("required", ())
        if name not in value
    ]
    if schema.get("additionalProperties") is False:
        allowed = ", ".join(sorted(properties)) or "none"
        problems.extend(
            f"{where}.{name} is not a known argument (allowed: {allowed})"
            for name in value
            if name not in properties
        )
    for name, sub_schema in properties.items():
        if name in value:
            problems.extend(validate(value[name], sub_schema, f"{where}.{name}"))
    return problems
