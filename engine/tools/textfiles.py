"""Helpers shared by the file tools: binary detection and checked text I/O.

Every function here raises ``ToolError`` with a message that names the path as
the model wrote it, so the model can correct its next call.
"""

from __future__ import annotations

from pathlib import Path

SNIFF_BYTES = 8192
"""How much of a file is inspected for NUL bytes to decide it is binary."""


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file mark it as binary (they contain a NUL byte)."""
    return b"\x00" in head


def file_is_binary(path: Path) -> bool:
    """Whether the file at ``path`` looks binary; reads at most ``SNIFF_BYTES``."""
    with path.open("rb") as handle:
        return looks_binary(handle.read(SNIFF_BYTES))
