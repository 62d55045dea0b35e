"""Where each block of a very long Markdown message lies, for rendering it virtually.

A message of tens of thousands of blocks (a 10 MB answer has about 60,000)
cannot be rendered whole: at about a millisecond a block, that is a minute
of work before its end is on screen, and its rendered lines hold hundreds of
megabytes. So ``StreamingMarkdown`` renders such a message virtually: a
block is rendered when one of its lines is painted, and until then it counts
an estimate of its height (``estimate_lines``, or the lines it had at
another width). ``VirtualLayout`` keeps those heights and their running sums
for one width, so finding the block under a line is a binary search; a block
rendered while painting records its real height, and the new offsets apply
together after the paint (``apply``), so one paint sees one layout.

No library does this: Textual's line API asks for lines, and which block a
line belongs to is this widget's business.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Protocol


class BlockSource(Protocol):
    """What an estimate reads of a block (``markdown_stream._Block``)."""

    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def first(self) -> bool: ...
    @property
    def last(self) -> bool: ...


TEXT_INDENT = 4
"""Columns an estimate takes off the width for wrapped text (list and quote indents)."""


def estimate_lines(block: BlockSource, width: int) -> int:
    """About how many lines ``block`` renders to at ``width`` (without a separator).

    Code and table lines are one line each (a code chunk's source begins with
    the opening fence line, a table chunk's with the header and delimiter
    rows); a code block adds its padding lines at its ends, a table its
    borders and header. Text wraps at the width less an indent.
    """
    lines = block.source.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    if block.kind == "fence":
        body = max(0, len(lines) - 1 - (1 if block.last else 0))
        return body + (1 if block.first else 0) + (1 if block.last else 0)
    if block.kind == "table":
        body = max(0, len(lines) - 2)
        return body + (3 if block.first else 0) + (1 if block.last else 0)
    columns = max(1, width - TEXT_INDENT)
    return max(1, sum(len(line) // columns + 1 for line in lines if line.strip()))


class VirtualLayout:
    """Heights (exact or estimated) of a message's blocks at one width, and their offsets.

    A block's height includes the blank line that separates it from the block
    before, if any. ``settle`` records a rendered block's real height; the
    offsets follow at ``apply``, so lines are found with the layout of the last
    ``apply`` until then.
    """

    def __init__(self) -> None:
        self._heights: list[int] = []
        self._exact: list[bool] = []
        self._offsets: list[int] = [0]
        self._changed: dict[int, int] = {}  # index -> the height before the first settle
        self._fresh: set[int] = set()  # settled since the last apply

    def __len__(self) -> int:
        return len(self._heights)

    @property
    def total(self) -> int:
        """Lines of every block, as of the last ``apply``."""
        return self._offsets[-1]

    @property
    def pending(self) -> bool:
        """Whether heights were settled since the last ``apply``."""
        return bool(self._fresh)

    def extend(self, heights: Iterable[tuple[int, bool]]) -> None:
        """Add blocks at the end: ``(height, exact)`` each."""
        offsets = self._offsets
        for height, exact in heights:
            self._heights.append(height)
            self._exact.append(exact)
            offsets.append(offsets[-1] + height)

    def is_exact(self, index: int) -> bool:
        """Whether block ``index``'s height is its rendered one."""
        return self._exact[index]

    def height(self, index: int) -> int:
        """Block ``index``'s height as the current offsets count it."""
        return self._offsets[index + 1] - self._offsets[index]

    def start(self, index: int) -> int:
        """The line block ``index`` begins at, as of the last ``apply``."""
        return self._offsets[index]

    def locate(self, y: int) -> tuple[int, int]:
        """The block holding line ``y`` (``0 <= y < total``) and the line within it."""
        index = bisect_right(self._offsets, y) - 1
        index = min(max(index, 0), len(self._heights) - 1)
        return index, y - self._offsets[index]

    def settled(self, index: int) -> bool:
        """Whether block ``index`` was rendered since the last ``apply`` (it was not on
        screen at its place until then)."""
        return index in self._fresh

    def settle(self, index: int, height: int) -> None:
        """Block ``index`` was rendered: ``height`` is its real height (applied later)."""
        self._exact[index] = True
        self._fresh.add(index)
        if self._heights[index] != height:
            self._changed.setdefault(index, self.height(index))
            self._heights[index] = height

    def apply(self, above: int | None = None) -> int:
        """Recompute the offsets from the settled heights; how many lines the blocks
        before block ``above`` grew by (negative: shrank), to keep what is on screen still."""
        changed, self._changed = self._changed, {}
        self._fresh.clear()
        if not changed:
            return 0
        first = min(changed)
        tail = accumulate(self._heights[first:], initial=self._offsets[first])
        self._offsets[first:] = list(tail)
        if above is None:
            return 0
        return sum(self._heights[i] - before for i, before in changed.items() if i < above)
