"""Tab completion of the ``@path`` being typed at the end of the input.

Names come from the working directory (or the directory the path names so
far); directories end in ``/`` so Tab can go on into them. Hidden entries are
offered only once the name begins with a dot. At most ``MAX_ENTRIES`` are
read from one directory, so a huge one cannot stall the input. Listing is
not attaching: the file is checked (confined to the working directory and the
extra roots) when the prompt is sent.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_ENTRIES = 5_000


def mention_at_end(line: str) -> str | None:
    """The path after the ``@`` of the last word of ``line``, or ``None`` if it is not one."""
    if not line or line[-1].isspace():
        return None
    last = line.rsplit(None, 1)[-1]
    if not last.startswith("@") or last.startswith('@"'):
        return None
    return last[1:]


def _entries(directory: Path, start: str) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    try:
        with os.scandir(directory) as listing:
            for count, entry in enumerate(listing):
                if count >= MAX_ENTRIES:
                    break
                name = entry.name
                if not name.startswith(start) or (name.startswith(".") and not start):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                found.append((name, is_dir))
    except OSError:
        return []
    return sorted(found)


def _common_prefix(words: list[str]) -> str:
    """The longest string every word starts with (character by character, not by path)."""
    if not words:
        return ""
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def complete_mention(line: str, cwd: Path) -> tuple[str, list[str]]:
    """Complete the ``@path`` at the end of ``line``: the completed line and the candidates."""
    raw = mention_at_end(line)
    if raw is None:
        return line, []
    before = line[: len(line) - len(raw) - 1]
    head, slash, tail = raw.rpartition("/")
    base = cwd / os.path.expanduser(head or "/") if slash else cwd
    prefix = f"{head}/" if slash else ""
    names = [
        (f"{prefix}{name}/" if is_dir else f"{prefix}{name}", is_dir)
        for name, is_dir in _entries(base, tail)
    ]
    candidates = [name for name, _ in names]
    if len(names) == 1:
        name, is_dir = names[0]
        return f"{before}@{name}{'' if is_dir else ' '}", [f"@{name}"]
    common = _common_prefix(candidates)
    completed = f"{before}@{common}" if len(common) > len(raw) else line
    return completed, [f"@{name}" for name in candidates]
