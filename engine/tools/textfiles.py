"""Binary detection shared by the file tools.

A file whose first ``SNIFF_BYTES`` contain a NUL byte is treated as binary and
refused (``file_read``, ``file_edit``) or skipped (``grep``). Opening is left
to ``regular.py``, which never opens anything but a regular file.
"""

from __future__ import annotations

SNIFF_BYTES = 8192
"""How much of a file is inspected for NUL bytes to decide it is binary."""


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file mark it as binary (they contain a NUL byte)."""
    return b"\x00" in head
