"""Files only their owner may read: the caches and the prompt history.

They hold prompts, model lists and the resolved configuration (header names,
base URLs), so they are created 0600 in directories created 0700, whatever
the umask says. The process umask itself is left alone: files the tools
create must get the user's usual permissions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def make_private_directory(path: Path) -> None:
    """Create ``path`` (and missing parents) owner-only; an existing one is left as it is."""
    if path.is_dir():
        return
    for missing in reversed([path, *[p for p in path.parents if not p.exists()]]):
        if not missing.exists():
            missing.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
            os.chmod(missing, DIRECTORY_MODE)  # mkdir's mode is masked by the umask


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a temporary file renamed over it)."""
    make_private_directory(path.parent)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with _open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) as handle:
        handle.write(text)
    temporary.replace(path)


def append_private(path: Path, text: str) -> None:
    """Append ``text`` to ``path``, creating it owner-only when it is new."""
    make_private_directory(path.parent)
    with _open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND) as handle:
        handle.write(text)


def _open_private(path: Path, flags: int) -> TextIO:
    descriptor = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)  # an older file made with wider permissions
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "w", encoding="utf-8")
