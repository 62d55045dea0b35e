"""Project instructions: the ``AGENTS.md`` files that join the system prompt.

The convention (agents.md, shared by the other coding agents): a user-level
file, ``<user config dir>/ikigai/AGENTS.md``, then every ``AGENTS.md`` from
the repository root down to the working directory, nearer files later so
their instructions come last and win. The repository root is the nearest
directory above the working directory holding ``.git``; outside a repository
only the working directory's file is read.

The files together are capped (``[context] project_docs_max_bytes``): the text
is cut at the cap and the rest left out, with a note in the prompt and in
``problems``. A file that is not UTF-8, is not a regular file (a FIFO is never
opened) or cannot be read is left out with a note; nothing here raises.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path

from ikigai.engine.estimate import text_tokens
from ikigai.engine.tools.base import ToolError
from ikigai.engine.tools.regular import check_regular, open_regular

FILE_NAME = "AGENTS.md"


@dataclass(frozen=True, slots=True)
class DocPart:
    """One loaded file: where it is and the text that went into the prompt."""

    path: Path
    text: str
    truncated: bool = False

    @property
    def tokens(self) -> int:
        """The estimated tokens of this part."""
        return text_tokens(self.text)


@dataclass(frozen=True, slots=True)
class ProjectDocs:
    """The instructions loaded for one working directory, and what was left out."""

    parts: tuple[DocPart, ...] = ()
    problems: tuple[str, ...] = ()
    left_out_bytes: int = 0
    """Bytes of ``AGENTS.md`` text beyond the cap, not loaded."""
    max_bytes: int = 0
    searched: tuple[Path, ...] = field(default_factory=tuple)

    def prompt_text(self) -> str | None:
        """The section appended to the system prompt, or ``None`` when nothing was loaded."""
        if not self.parts:
            return None
        sections = ["# Project instructions (AGENTS.md)"]
        for part in self.parts:
            sections.append(f"## {part.path}\n\n{part.text.rstrip()}")
        if self.left_out_bytes:
            sections.append(
                f"[{self.left_out_bytes} more bytes of AGENTS.md instructions were left out: "
                f"the files together are limited to {self.max_bytes} bytes]"
            )
        return "\n\n".join(sections)


def user_docs_path() -> Path:
    """``<user config dir>/ikigai/AGENTS.md``."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("ikigai", appauthor=False)) / FILE_NAME


def repository_root(cwd: Path) -> Path | None:
    """The nearest directory at or above ``cwd`` holding ``.git`` (a directory or a
    worktree's file), or ``None`` outside a repository."""
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():
            return directory
    return None


def candidate_paths(cwd: Path, user_file: Path) -> list[Path]:
    """Where ``AGENTS.md`` files are looked for, in prompt order."""
    cwd = Path(os.path.realpath(cwd))
    root = repository_root(cwd)
    chain = [cwd]
    if root is not None:
        chain = [cwd, *[p for p in cwd.parents if p.is_relative_to(root)]]
    paths = [user_file, *(directory / FILE_NAME for directory in reversed(chain))]
    unique: dict[Path, None] = {}
    for path in paths:
        unique.setdefault(path, None)
    return list(unique)


def load(cwd: Path, max_bytes: int, user_file: Path | None = None) -> ProjectDocs:
    """The ``AGENTS.md`` files for ``cwd``, at most ``max_bytes`` of them in all."""
    paths = candidate_paths(cwd, user_file if user_file is not None else user_docs_path())
    parts: list[DocPart] = []
    problems: list[str] = []
    budget = max_bytes
    left_out = 0
    for path in paths:
        read = _read(path, budget)
        if read is None:
            continue
        if isinstance(read, str):
            problems.append(read)
            continue
        text, size = read
        used = len(text.encode("utf-8"))
        if used < size:
            left_out += size - used
        if text:
            parts.append(DocPart(path, text, truncated=used < size))
        budget -= used
    if left_out:
        problems.append(
            f"AGENTS.md: {left_out} bytes left out; the files together are limited to "
            f"{max_bytes} bytes ([context] project_docs_max_bytes)"
        )
    return ProjectDocs(tuple(parts), tuple(problems), left_out, max_bytes, tuple(paths))


def _read(path: Path, budget: int) -> tuple[str, int] | str | None:
    """``(text within budget, file size)``, a problem to report, or ``None`` (no file)."""
    try:
        info = check_regular(path, str(path), "AGENTS.md")
        if info is None:
            return None
        fd = open_regular(path, str(path), "AGENTS.md")
    except ToolError as exc:
        return f"AGENTS.md left out: {exc}"
    except OSError as exc:
        return f"AGENTS.md left out: cannot read {path}: {exc.strerror or exc}"
    with os.fdopen(fd, "rb") as handle:
        # A few bytes past the budget, so a character cut at the cap is completed.
        data = handle.read(max(budget, 0) + 4)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        if len(data) <= budget:
            text = decoder.decode(data, final=len(data) == info.st_size)
        else:
            text = decoder.decode(data[:budget], final=False)
    except UnicodeDecodeError:
        return f"AGENTS.md left out: {path} is not UTF-8 text"
    if len(data) <= budget and len(data) < info.st_size:
        # The file grew while it was read; what was read is used.
        return text, len(data)
    return text, info.st_size
