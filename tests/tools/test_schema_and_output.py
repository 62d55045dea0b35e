"""The JSON-schema subset validator and the output cap."""

from __future__ import annotations

from typing import Any

from ikigai.engine.tools.output import CappedBuffer, cap_output
from ikigai.engine.tools.schema import validate

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "s": {"type": "string"},
        "i": {"type": "integer", "minimum": 1},
        "n": {"type": "number", "maximum": 10},
        "b": {"type": "boolean"},
        "o": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
    },
    "required": ["s"],
    "additionalProperties": False,
}


def test_valid_arguments() -> None:
    assert validate({"s": "a", "i": 2, "n": 2.5, "b": False, "o": {"x": "y"}}, SCHEMA) == []
    assert validate({"s": "a", "i": 3.0}, SCHEMA) == []


def test_type_mismatches() -> None:
    problems = validate({"s": 1, "i": True, "n": "1", "b": 0, "o": []}, SCHEMA)
    assert problems == [
        "arguments.s must be a string, got a number",
        "arguments.i must be an integer, got a boolean",
        "arguments.n must be a number, got a string",
        "arguments.b must be a boolean, got a number",
        "arguments.o must be an object, got an array",
    ]
    assert validate({"s": "a", "i": 1.5}, SCHEMA) == [
        "arguments.i must be an integer, got a number"
    ]
    assert validate(None, SCHEMA) == ["arguments must be an object, got null"]


def test_required_unknown_bounds_and_nesting() -> None:
    problems = validate({"zz": 1, "i": 0, "n": 11, "o": {}}, SCHEMA)
    assert problems == [
        "arguments.s is required but missing",
        "arguments.zz is not a known argument (allowed: b, i, n, o, s)",
        "arguments.i must be at least 1, got 0",
        "arguments.n must be at most 10, got 11",
        "arguments.o.x is required but missing",
    ]


def test_cap_output() -> None:
    assert cap_output("short", 10) == "short"
    assert cap_output("0123456789", 10) == "0123456789"
    assert cap_output("0123456789AB", 10) == (
        "0123456789\n[output truncated: 12 bytes, showing the first 10]"
    )
    # A multi-byte character split by the cut is dropped, not mangled.
    assert cap_output("aéé", 2) == "a\n[output truncated: 5 bytes, showing the first 1]"


def test_capped_buffer_counts_everything_keeps_the_head() -> None:
    buffer = CappedBuffer(4)
    for chunk in (b"ab", b"cdef", b"gh"):
        buffer.add(chunk)
    assert buffer.total == 8
    assert buffer.text() == "abcd\n[output truncated: 8 bytes, showing the first 4]"
    small = CappedBuffer(10)
    small.add(b"hi")
    assert small.text() == "hi"
