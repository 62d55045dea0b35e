"""Walking a directory tree for ``glob`` and ``grep``, confined and predictable.

Both tools see the same files: ``.git`` directories are skipped, symlinked
directories are not descended into, and a symlinked file is only listed when
its target is inside the roots. Only regular files are listed: a FIFO, device
or socket is never opened by either tool. Glob patterns are translated here
rather than left to ``pathlib`` so ``**`` and the filters behave the same in
both tools; the translation is compiled with RE2, so no pattern can make
matching backtrack.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ikigai.engine.tools.base import ToolError
from ikigai.engine.tools.blocking import StopFlag
from ikigai.engine.tools.confinement import is_within
from ikigai.engine.tools.regex import Pattern, RegexError, compile_pattern

SKIPPED_DIRECTORIES = frozenset({".git"})


def _translate_class(pattern: str, start: int) -> tuple[str, int] | None:
    """Translate ``[...]`` at ``start``; ``None`` when the bracket is never closed."""
    end = start + 1
    if end < len(pattern) and pattern[end] in "!^":
        end += 1
    if end < len(pattern) and pattern[end] == "]":
        end += 1
    end = pattern.find("]", end)
    if end == -1:
        return None
    body = pattern[start + 1 : end]
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    escaped = body.replace("\\", "\\\\")
    return ("[^/" if negate else "[") + escaped + "]", end + 1


@lru_cache(maxsize=128)
def glob_regex(pattern: str) -> Pattern:
    """Compile a glob over ``/``-separated relative paths.

    ``*`` and ``?`` never cross ``/``; ``**`` as a whole path segment matches any
    number of directories (including none); ``[abc]``/``[!abc]`` are classes.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (translated := _translate_class(pattern, i)) is not None:
            out.append(translated[0])
            i = translated[1]
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    try:
        return compile_pattern("(?s)" + "".join(out) + r"\z")
    except RegexError as error:
        raise ToolError(f"invalid glob pattern {pattern!r}: {error}") from error


def matches_glob(relative: str, pattern: str) -> bool:
    """Whether ``relative`` matches ``pattern``; a pattern without ``/`` tests the file name."""
    target = relative if "/" in pattern else relative.rsplit("/", 1)[-1]
    return glob_regex(pattern).match(target) is not None


def _is_regular(path: Path) -> bool:
    """Whether ``path`` (followed if a link) is a regular file; ``stat`` never blocks."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def walk_files(base: Path, roots: tuple[Path, ...], stop: StopFlag) -> Iterator[Path]:
    """Regular files under ``base`` (or ``base`` itself if it is one), in a stable order.

    Yielded paths keep ``base`` as their prefix (links are not resolved) so
    callers can display them relative to it. ``stop`` is checked at every
    entry.
    """
    if _is_regular(base):
        yield base
        return
    for directory, dirnames, filenames in os.walk(base):
        stop.check()
        dirnames[:] = sorted(name for name in dirnames if name not in SKIPPED_DIRECTORIES)
        for name in sorted(filenames):
            stop.check()
            path = Path(directory, name)
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                if not is_within(target, roots) or not _is_regular(target):
                    continue
            elif not _is_regular(path):
                continue
            yield path
