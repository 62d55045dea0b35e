"""Markdown that grows by appending while a model streams.

The text is split into top-level Markdown blocks (paragraphs, headings, lists,
block quotes, tables, fenced code) as it arrives. A block that can no longer
change is rendered once, at the current width, into cached lines and never
touched again; only the last, still-open block is re-rendered. The widget is
a single line-API widget: painting copies cached lines, so the cost of a
refresh does not grow with the length of the message. A refresh that leaves
the height unchanged repaints only the lines that changed; only growth asks
for a layout.

Long fenced code blocks and tables are rendered ``CHUNK_LINES`` lines (rows)
at a time, so an open 5,000-line code block or 3,000-row table costs one
chunk per frame, not the whole block: the completed chunks are frozen like
blocks, and only the open chunk is parsed and rendered again. Each chunk is
rendered by Rich's own Markdown from the block's opening line(s) and its
lines, and the pieces fit together as the whole block would: a code block's
padding lines appear once, at its ends; a table's header appears once, and
every chunk uses the column widths Rich chose for the first one (a later
cell wider than its column wraps). A construct that spans a chunk boundary
in a code block (a multi-line string, say) is coloured from the boundary on
as the lexer sees it there.

Rich's Markdown and markdown-it are imported when the first message is
split or rendered (``markdown_blocks``), not with the widget: the app's
first frame does not wait for them.

Control characters are data: each block's source is neutralized (``\\x1b`` for
ESC, as ``engine.textsafety.neutralize`` shows them) just before Rich renders
it, so no paragraph, heading, inline or fenced code, link, table cell or
quote can carry an escape sequence to the terminal. The text kept for copying
(``markdown``, ``code_blocks``) is as received, with CR LF / CR read as line
breaks as CommonMark does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from textual import events
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget

from ikigai.engine.textsafety import neutralize
from ikigai.tui.input_priority import RETRY, priority_of
from ikigai.tui.widgets.growing import resize_keeping_lines
from ikigai.tui.widgets.markdown_virtual import VirtualLayout, estimate_lines

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from rich.console import Console, ConsoleOptions
    from rich.segment import Segment
    from rich.style import Style


DARK_CODE_THEME = "monokai"
LIGHT_CODE_THEME = "friendly"
CHUNK_LINES = 16
"""Code lines (table rows) per chunk of a long code block (table)."""
GROW_LINES = 4
"""A streaming message grows in steps of this many lines (blank below the text until
filled), so the view is laid out again once every few lines rather than on each."""
LONG_MESSAGE = 16 * 1024
"""Characters from which a message is rendered in budgeted steps after a layout at a new
width or theme (shorter ones render at once, as a whole)."""

LONG_BLOCKS = 16
"""Blocks (or chunks) from which a message counts as long, whatever its length."""
SPLIT_CHARS = 4 * 1024
"""Characters of buffered text split into blocks per step."""
CATCH_UP_PAUSE = 0.015
"""Seconds between two budgeted render steps of a backlog: keys typed meanwhile are
handled and painted in between, with the layout the last step asked for."""

VIRTUAL_BLOCKS = 2_000
"""Blocks (or chunks) from which a message is rendered virtually (``markdown_virtual``):
a block is rendered when it is painted, and counts an estimate of its height until then."""
VIRTUAL_CHARS = 200 * 1024
"""Characters from which a message built whole (from history) is rendered virtually from the
start, before it is split (about ``VIRTUAL_BLOCKS`` blocks of prose)."""
VIRTUAL_SPLIT_CHARS = 16 * 1024
"""Characters split per step once a message is rendered virtually (splitting is then the
step's only work: parsing 16 KB takes about 9 ms)."""
VIRTUAL_PAUSE = 0.005
"""Seconds between two split steps of a virtually rendered backlog."""
VIRTUAL_LAYOUT_PERIOD = 0.2
"""Seconds at least between two layouts a virtually rendered message asks for as it grows:
a layout of the screen costs in proportion to the height of the tallest widget (its
spatial map, even on ``tall_children``'s coarse cells, and the caches it clears), so the
new lines are laid out five times a second."""

KEPT_KEYS = 2
"""Widths (and themes) whose rendered lines are kept: the vertical scrollbar appearing takes
a column, and a layout may measure the answer at both widths, so both stay rendered."""

BlockKind = Literal["markdown", "fence", "table"]
CacheKey = tuple[int, bool]
_T = TypeVar("_T")


def _parser() -> MarkdownIt:
    """The shared block parser (``markdown_blocks.parser``), imported on first use."""
    from ikigai.tui.widgets.markdown_blocks import parser

    return parser()


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_starts(text: str) -> list[int]:
    """Offsets where each ``\\n``-separated line of ``text`` begins (as markdown-it counts)."""
    starts = [0]
    find = text.find
    position = find("\n")
    while position != -1:
        starts.append(position + 1)
        position = find("\n", position + 1)
    return starts


def _fence_contents(tokens: Iterable[Token]) -> list[str]:
    return [token.content for token in tokens if token.type == "fence"]


def _is_plain_blank(line: list[Segment]) -> bool:
    """A line with only spaces and no background (padding lines of code blocks do have one)."""
    for segment in line:
        if segment.control:
            continue
        if segment.text.strip():
            return False
        style = segment.style
        if style is not None and (style.bgcolor is not None or style.reverse):
            return False
    return True


@dataclass(slots=True, eq=False)
class _Block:
    """One top-level Markdown block (or one chunk of a long one) and its rendering.

    A chunk (``kind`` ``fence`` or ``table``) carries the block's opening
    line(s) in ``source`` before its own lines; ``first`` and ``last`` say
    which ends of the whole block it holds, ``head`` is the first chunk (whose
    table widths it uses) and ``joined`` means no blank line separates it from
    the block before. ``fences`` are the code contents of a ``markdown``
    block; ``fence_part`` the lines a fence chunk adds to its code block.
    """

    source: str
    fences: list[str] = field(default_factory=list)
    kind: BlockKind = "markdown"
    first: bool = True
    last: bool = True
    head: _Block | None = None
    fence_part: str = ""
    code_start: int = 0
    renders: dict[CacheKey, list[Strip]] = field(default_factory=dict)
    table_widths: dict[CacheKey, list[int]] = field(default_factory=dict)

    @property
    def joined(self) -> bool:
        return not self.first


@dataclass(slots=True)
class _Joined:
    """The lines of the first ``count`` frozen blocks at one cache key, with separators."""

    lines: list[Strip] = field(default_factory=list)
    count: int = 0


def _remember_height(heights: dict[int, int], width: int, height: int) -> None:
    """Note ``height`` as measured at ``width`` (a few recent widths are kept)."""
    heights.pop(width, None)
    heights[width] = height
    while len(heights) > 2 * KEPT_KEYS:
        del heights[next(iter(heights))]


def _remember(cache: dict[CacheKey, _T], key: CacheKey, value: _T) -> _T:
    """Store ``value`` under ``key``, keeping only the ``KEPT_KEYS`` newest keys."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > KEPT_KEYS:
        del cache[next(iter(cache))]
    return value


@dataclass(slots=True)
class _Split:
    """Top-level blocks found at the start of the open text, and where the rest begins."""

    blocks: list[_Block]
    consumed: int


@dataclass(slots=True)
class _Continuation:
    """A long code block or table whose first chunks are frozen: how to read the rest.

    ``prefix`` (the opening fence line, or the table's header and delimiter
    rows) is parsed in front of the open text, so the parser sees the rest as
    the same block without reading the frozen lines again.
    """

    kind: Literal["fence", "table"]
    prefix: str
    head: _Block


class _Splitter:
    """Splits the open text into frozen blocks, chunking long code blocks and tables."""

    def __init__(self, parser: MarkdownIt) -> None:
        self.parser = parser
        self.continuation: _Continuation | None = None

    def split(self, text: str, *, final: bool) -> _Split:
        """The blocks (and chunks) of ``text`` that can no longer change; see ``split_blocks``."""
        continuation = self.continuation
        prefix = continuation.prefix if continuation is not None else ""
        full = prefix + text
        tokens = self.parser.parse(full)
        starts = _line_starts(full)
        # Index of the first line that is not yet terminated by a newline.
        partial_line = len(starts) - 1 if not full.endswith("\n") else len(starts)

        def offset(line: int) -> int:
            return starts[line] if line < len(starts) else len(full)

        top: list[tuple[int, int, int]] = []  # (first line, end line, first token index)
        for index, token in enumerate(tokens):
            if token.level == 0 and token.nesting >= 0 and token.map is not None:
                top.append((token.map[0], token.map[1], index))

        blocks: list[_Block] = []
        consumed = len(prefix)
        for position, (first, end, token_index) in enumerate(top):
            if position + 1 < len(top):
                next_first, _, next_token_index = top[position + 1]
                complete = final or next_first < partial_line
            else:
                next_first, next_token_index = len(starts), len(tokens)
                complete = final
            token = tokens[token_index]
            kind: BlockKind = (
                "fence"
                if token.type == "fence"
                else "table"
                if token.type == "table_open"
                else "markdown"
            )
            continued = position == 0 and continuation is not None
            if kind != "markdown":
                head_lines = 1 if kind == "fence" else 2
                body_start = first + head_lines
                body_stop = end if complete else min(partial_line, end)
                chunks = self._chunks(
                    full, starts, kind, first, body_start, body_stop, complete, continued
                )
                if chunks is not None:
                    blocks.extend(chunks)
                    if not complete:
                        consumed = offset(body_start + _frozen_lines(chunks, kind))
                        break
                    self.continuation = None
                    consumed = offset(next_first)
                    continue
            if not complete:
                break
            source = full[offset(first) : offset(end)]
            blocks.append(_Block(source, _fence_contents(tokens[token_index:next_token_index])))
            consumed = offset(next_first)
        if final:
            consumed = len(full)
            self.continuation = None
        return _Split(blocks, consumed - len(prefix))

    def _chunks(
        self,
        full: str,
        starts: list[int],
        kind: Literal["fence", "table"],
        first: int,
        body_start: int,
        body_stop: int,
        complete: bool,
        continued: bool,
    ) -> list[_Block] | None:
        """The chunks of a long code block or table (``None``: short, render it whole).

        While the block is open, only whole chunks of complete lines are
        frozen, and at least one line stays open. A code chunk never ends on a
        blank line (Rich drops a code block's trailing blank lines).
        """
        lines = body_stop - body_start
        if not continued and lines <= CHUNK_LINES:
            return None
        if not complete and lines <= CHUNK_LINES:
            return []

        def text(line_from: int, line_to: int) -> str:
            end = starts[line_to] if line_to < len(starts) else len(full)
            return full[starts[line_from] : end]

        prefix = text(first, body_start)
        continuation = self.continuation
        head = continuation.head if continuation is not None else None
        chunks: list[_Block] = []
        position = body_start
        while True:
            left = body_stop - position
            if complete and left <= CHUNK_LINES:
                stop = body_stop
            elif not complete and left <= CHUNK_LINES:
                break
            else:
                stop = position + CHUNK_LINES
                if kind == "fence":
                    while stop > position + 1 and not full[starts[stop - 1] : starts[stop]].strip():
                        stop -= 1
            chunk = _Block(
                prefix + text(position, stop),
                kind=kind,
                first=head is None,
                last=complete and stop == body_stop,
                head=head,
            )
            if kind == "fence":
                chunk.fence_part = "".join(_fence_contents(self.parser.parse(chunk.source)))
                if chunk.fence_part and not chunk.last and not chunk.fence_part.endswith("\n"):
                    chunk.fence_part += "\n"
            if head is None:
                head = chunk
                chunk.head = None
            chunks.append(chunk)
            position = stop
            if chunk.last:
                break
        if not complete and head is not None:
            self.continuation = _Continuation(kind, prefix, head)
        return chunks

    def open_block(self, text: str) -> _Block:
        """The open rest of the text as one block to render again each frame."""
        continuation = self.continuation
        if continuation is None:
            return _Block(text)
        return _Block(
            continuation.prefix + text,
            kind=continuation.kind,
            first=False,
            last=True,
            head=continuation.head,
        )

    def open_fences(self, text: str) -> list[str]:
        """The code contents in the open ``text`` (the continued code block's rest first)."""
        prefix = self.continuation.prefix if self.continuation is not None else ""
        return _fence_contents(self.parser.parse(prefix + text))


def _frozen_lines(chunks: list[_Block], kind: str) -> int:
    """How many body lines ``chunks`` hold (each chunk's source begins with the prefix)."""
    head_lines = 1 if kind == "fence" else 2
    return sum(chunk.source.count("\n") - head_lines for chunk in chunks)


def split_blocks(text: str, *, final: bool, parser: MarkdownIt | None = None) -> _Split:
    """Split ``text`` (starting at a block boundary) into blocks that can no longer change.

    A top-level block is complete once the next top-level block has started on a
    complete line: nothing appended later can extend it then (a partial line such
    as ``#`` may still turn out to be ``#hashtag``, a continuation). With
    ``final`` every block is complete. ``consumed`` is the offset in ``text``
    where the first incomplete block starts (``len(text)`` when all are done).
    A long code block or table comes as several chunks (see the module's docstring).
    """
    return _Splitter(parser or _parser()).split(text, final=final)


class StreamingMarkdown(Widget):
    """A Markdown answer that is appended to while it streams, rendered block by block.

    Two ways to stream: ``feed`` renders at once and is meant for a caller that
    paces the frames (the app's frame clock); ``append`` only buffers and
    schedules a render, coalesced to at most ``MAX_FPS`` a second. Completed
    blocks are rendered once (per width and theme) into cached lines; only the
    open block at the end is re-rendered. A backlog of completed blocks (a
    stream faster than rendering) is rendered ``RENDER_BUDGET`` seconds at a
    time so keys and frames are handled in between. ``finish`` renders what is
    left and freezes the widget. Constructed with ``finished=True`` (a message
    loaded from history) it splits once and renders at its first layout, with
    no timer, unless it is long (``LONG_MESSAGE``): then it is split and
    rendered in steps once mounted. Text fed before the widget is mounted is
    split once it is, in steps as well. A message of more than
    ``VIRTUAL_BLOCKS`` blocks is rendered virtually (``markdown_virtual``).
    """

    DEFAULT_CSS = """
    StreamingMarkdown {
        height: auto;
    }
    """

    MAX_FPS = 25
    """Upper bound on re-renders of the open block per second for ``append``."""

    RENDER_BUDGET = 0.008
    """Seconds of block rendering per step; a backlog is rendered over several steps so
    that keys and frames are handled in between (a very fast stream can outrun it)."""

    def __init__(
        self,
        markdown: str = "",
        *,
        finished: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._parser = _parser()
        self._splitter = _Splitter(self._parser)
        self._blocks: list[_Block] = []
        self._open: _Block | None = None
        self._done_text: list[str] = []  # normalized text of the frozen blocks, in pieces
        self._done_joined = ""
        self._done_joined_parts = 0
        self._open_text = ""  # normalized text after the frozen blocks
        self._frozen_chars = 0
        self._pending: list[str] = []
        self._finished = False
        self._timer: Timer | None = None
        self._held_since: float | None = None
        """When a render step due now began waiting for input to be painted (or None)."""
        self._last_flush = 0.0
        self._shown = 0  # frozen blocks on display; the open block shows once all are
        # The shown blocks' lines joined, per cache key (a key may lag behind ``_shown``).
        self._joined: dict[CacheKey, _Joined] = {}
        self._missing_memo: tuple[tuple[int, int, int] | None, int] = (None, 0)
        self._measured: dict[int, int] = {}  # the height each width was last measured at
        self._height = -1  # lines at the last refresh (-1: never laid out)
        self._layout_width = 0  # the width the last layout asked the height for
        self._code_count = 0  # fenced code blocks in the frozen blocks
        self._tail: list[Strip] = []  # the open block's lines at the last refresh
        self._layouts: dict[CacheKey, VirtualLayout] = {}  # rendered virtually: per key
        self._heights_due = False  # a paint settled heights: they apply after it
        self._virtual = finished and len(markdown) > VIRTUAL_CHARS  # once virtual, always
        self._laid_out_at = 0.0  # when growth last asked for a layout (rendered virtually)
        self._dirty_from: int | None = None  # first line to repaint at the next layout
        self._layout_timer: Timer | None = None
        self._paint_style: Style | None = None
        if markdown:
            self._pending.append(markdown)
        if finished:
            # A long message is split once mounted, a step at a time (``_flush``).
            if len(markdown) <= LONG_MESSAGE:
                self._flush(final=True)
            self._finished = True

    # -- public API ------------------------------------------------------------------------

    @property
    def markdown(self) -> str:
        """All the Markdown received so far, including text not yet rendered."""
        return self._frozen_text() + self._open_text + "".join(self._pending)

    @property
    def finished(self) -> bool:
        """Whether ``finish`` was called (or the widget was built finished)."""
        return self._finished

    @property
    def code_blocks(self) -> list[str]:
        """The contents of the fenced code blocks, in order (an unclosed last fence included)."""
        result: list[str] = []
        parts: list[str] = []
        for block in self._blocks:
            if block.kind == "fence":
                parts.append(block.fence_part)
                if block.last:
                    result.append("".join(parts))
                    parts = []
            else:
                result.extend(block.fences)
        tail = _normalize_newlines(self._open_text + "".join(self._pending))
        if parts:
            rest = self._splitter.open_fences(tail)
            result.append("".join(parts) + (rest[0] if rest else ""))
            result.extend(rest[1:])
        elif tail.strip():
            result.extend(self._splitter.open_fences(tail))
        return result

    def feed(self, text: str) -> None:
        """Add ``text`` and render it now (the caller paces the calls, once a frame)."""
        if self._finished:
            raise RuntimeError("StreamingMarkdown.feed() after finish()")
        if not text:
            return
        self._pending.append(text)
        if not self.is_mounted:
            return  # split a step at a time once mounted (``_after_mount``)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._flush(final=False)

    def append(self, text: str) -> None:
        """Add ``text`` to the end of the message; rendering happens later, coalesced."""
        if self._finished:
            raise RuntimeError("StreamingMarkdown.append() after finish()")
        if not text:
            return
        self._pending.append(text)
        if self._timer is None and self.is_mounted:
            delay = self._last_flush + 1 / self.MAX_FPS - time.monotonic()
            self._timer = self.set_timer(max(delay, 0.001), self._on_timer, name="markdown-flush")

    def finish(self) -> None:
        """Freeze the widget and render what is left (idempotent).

        The last blocks are rendered at once, or in budgeted steps right after when a
        very fast stream left a backlog, so that a long answer never stalls input.
        """
        if self._finished:
            return
        self._finished = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not self.is_mounted and sum(map(len, self._pending)) > LONG_MESSAGE:
            return  # split a step at a time once mounted (``_after_mount``)
        self._flush(final=True)

    # -- splitting -------------------------------------------------------------------------

    def _frozen_text(self) -> str:
        parts = self._done_text
        if self._done_joined_parts != len(parts):
            self._done_joined += "".join(parts[self._done_joined_parts :])
            self._done_joined_parts = len(parts)
        return self._done_joined

    def _on_timer(self) -> None:
        self._timer = None
        self._held_since = priority_of(self.app).hold(self._held_since)
        if self._held_since is not None:
            # Input is on its way to the screen: render after it (``tui.input_priority``).
            self._timer = self.set_timer(RETRY, self._on_timer, name="markdown-wait")
            return
        if self._pending:
            self._flush(final=self._finished)
        elif self._finished:
            self._catch_up()
        else:
            self._flush(final=False)

    def _caught_up(self) -> bool:
        """Whether everything split so far is on display (no render step pending)."""
        if self._is_virtual:
            return (
                self._timer is None
                and self._layout_timer is None
                and not self._pending
                and not self._heights_due
            )
        joined = self._joined.get(self._cache_key(self.content_size.width))
        return (
            self._shown == len(self._blocks)
            and (joined is None or joined.count == self._shown)
            and self._timer is None
            and not self._pending
        )

    def _on_mount(self, event: events.Mount) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        if self._pending:
            # Once the mount is over: until then the widget does not count as mounted, and
            # an unmounted widget splits all it has in one go.
            self.call_later(self._after_mount)

    def _after_mount(self) -> None:
        """Split what arrived before the widget was mounted, a step at a time."""
        if self._pending and self._timer is None:
            self._flush(final=self._finished)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self._joined.clear()
        self._layouts.clear()
        self._missing_memo = (None, 0)
        self.refresh(layout=True)

    def _flush(self, *, final: bool) -> None:
        """Move buffered text into blocks; freeze the blocks that are complete.

        Once mounted, at most ``SPLIT_CHARS`` of buffered text (up to a line
        break) is split per step: parsing costs time in proportion to the text,
        so a stream that delivered a lot at once is taken in over several steps,
        ``CATCH_UP_PAUSE`` apart, and keys are handled in between.
        """
        self._last_flush = time.monotonic()
        if self._pending:
            step = VIRTUAL_SPLIT_CHARS if self._is_virtual else SPLIT_CHARS
            incoming = self._take_pending(step if self.is_mounted else None)
            if self.is_mounted and len(incoming) > step:
                cut = incoming.rfind("\n", 0, step) + 1
                if cut > 0:
                    self._pending.insert(0, incoming[cut:])
                    incoming = incoming[:cut]
            # A trailing "\r" may be the first half of "\r\n"; keep it for the next flush.
            if incoming.endswith("\r") and (self._pending or not final):
                self._pending.insert(0, "\r")
                incoming = incoming[:-1]
            self._open_text += _normalize_newlines(incoming)
        more = bool(self._pending) and self.is_mounted
        last = final and not more
        open_text = self._open_text
        split = self._splitter.split(open_text, final=last)
        for block in split.blocks:
            block.code_start = self._code_count
            if block.kind == "fence":
                self._code_count += 1 if block.first else 0
            else:
                self._code_count += len(block.fences)
        self._blocks.extend(split.blocks)
        if split.consumed:
            self._done_text.append(open_text[: split.consumed])
            self._frozen_chars += split.consumed
            open_text = self._open_text = open_text[split.consumed :]
        # The open rest is rendered once the backlog is split (rendering it at every step of
        # a long last block would cost in proportion to its length, step after step).
        showing = open_text.strip() and not last and not more
        self._open = self._splitter.open_block(open_text) if showing else None
        if self._open is not None:
            self._open.code_start = self._code_count
        self._catch_up()
        if more and self._timer is None:
            pause = VIRTUAL_PAUSE if self._is_virtual else CATCH_UP_PAUSE
            self._timer = self.set_timer(pause, self._on_timer, name="markdown-split")

    def _take_pending(self, wanted: int | None) -> str:
        """The buffered text from the front: all of it (``None``), or the pieces that make
        at least ``wanted`` characters (a backlog of many pieces is not joined whole on
        every step; the rest of one long piece still is, once a step)."""
        pending = self._pending
        if wanted is None or len(pending) == 1:
            taken = "".join(pending)
            pending.clear()
            return taken
        size = 0
        count = 0
        while count < len(pending) and size <= wanted:
            size += len(pending[count])
            count += 1
        taken = "".join(pending[:count])
        del pending[:count]
        return taken

    def _catch_up(self) -> None:
        """Render newly frozen blocks within the budget, then refresh what changed.

        When the number of lines did not change, only the lines that did are
        repainted; otherwise the widget asks for a layout (it grew).
        """
        width = self.content_size.width if self.is_mounted else 0
        if width <= 0:
            # Sized by a layout whose size has not reached the widget yet: that width.
            width = self._layout_width
        if width <= 0:
            # Not laid out yet: the first layout renders what is shown.
            if not self._is_long:
                self._shown = len(self._blocks)
            return
        if self._is_virtual:
            self._virtual_catch_up(width)
            return
        joined = self._joined.get(self._cache_key(width))
        before = len(joined.lines) if joined is not None else -1
        self._render_step(width)
        frozen, missing, open_lines = self._all_lines(width)
        height = self._reserve(len(frozen) + missing + len(open_lines))
        old_tail, self._tail = self._tail, open_lines
        if before < 0:
            self._height = self._measured[width] = height
            self.refresh(layout=True)
            return
        new_tail = frozen[before:] + open_lines
        changed = next(
            (y for y, (old, new) in enumerate(zip(old_tail, new_tail, strict=False)) if old != new),
            None,
        )
        grown = height != self._measured.get(width, self._height)
        self._height = self._measured[width] = height
        if changed is None and len(old_tail) == len(new_tail) and not grown:
            return
        top = before + (changed if changed is not None else min(len(old_tail), len(new_tail)))
        # Only the lines from ``top`` on changed; growth also needs a layout.
        self.refresh(Region(0, top, width, max(1, height - top)), layout=grown)

    def _render_step(self, width: int) -> None:
        """Render more blocks, for ``RENDER_BUDGET`` seconds; a timer continues after.

        First the blocks already shown at another width (a layout at a new
        width), then blocks not shown yet (a backlog).
        """
        deadline = time.monotonic() + self.RENDER_BUDGET
        joined = self._update_frozen_lines(width, deadline)
        while joined.count == self._shown < len(self._blocks) and time.monotonic() < deadline:
            self._shown += 1
            self._update_frozen_lines(width)
        behind = joined.count < self._shown or self._shown < len(self._blocks)
        if behind and self._timer is None:
            self._timer = self.set_timer(CATCH_UP_PAUSE, self._on_timer, name="markdown-catch-up")

    @property
    def _is_long(self) -> bool:
        return self._frozen_chars > LONG_MESSAGE or len(self._blocks) > LONG_BLOCKS

    @property
    def _is_virtual(self) -> bool:
        if not self._virtual and len(self._blocks) > VIRTUAL_BLOCKS:
            self._virtual = True
        return self._virtual

    # -- virtual rendering (``markdown_virtual``) -------------------------------------------

    def _layout(self, width: int) -> VirtualLayout:
        """The blocks' layout at ``width``, with every block split so far."""
        key = self._cache_key(width)
        layout = self._layouts.get(key)
        if layout is None:
            layout = _remember(self._layouts, key, VirtualLayout())
        if len(layout) < len(self._blocks):
            start = len(layout)
            layout.extend(
                self._height_guess(index, key, width) for index in range(start, len(self._blocks))
            )
        return layout

    def _separated(self, index: int) -> int:
        """1 when a blank line separates block ``index`` from the one before, else 0."""
        return 0 if index == 0 or self._blocks[index].joined else 1

    def _height_guess(self, index: int, key: CacheKey, width: int) -> tuple[int, bool]:
        """Block ``index``'s height at ``key``: its rendered lines when it has them (exact),
        else the lines it had at another width, else an estimate."""
        block = self._blocks[index]
        lines = block.renders.get(key)
        if lines is not None:
            return (len(lines) + self._separated(index) if lines else 0), True
        others = next(reversed(block.renders.values()), None)
        guess = len(others) if others else estimate_lines(block, width)
        return guess + self._separated(index), False

    def _open_lines(self, width: int, after_lines: bool) -> list[Strip]:
        """The open block's lines at ``width``, with the blank line that separates it from
        the lines before it (``after_lines``: there are some)."""
        open_lines: list[Strip] = []
        if self._open is not None:
            block_lines = self._lines_for(self._open, width)
            if block_lines and after_lines and not self._open.joined:
                open_lines.append(Strip.blank(width))
            open_lines.extend(block_lines)
        return open_lines

    def _virtual_open_lines(self, width: int, layout: VirtualLayout) -> list[Strip]:
        return self._open_lines(width, layout.total > 0)

    def _virtual_catch_up(self, width: int) -> None:
        """New blocks were split: lay them out with estimates; repaint from the first new
        line. Nothing is rendered but the open block. Growth asks for a layout at most
        every ``VIRTUAL_LAYOUT_PERIOD`` (a timer asks for the last one)."""
        layout = self._layouts.get(self._cache_key(width))
        before = layout.total if layout is not None else 0
        # Lines from here on changed since the last refresh that laid them out.
        self._dirty_from = before if self._dirty_from is None else min(self._dirty_from, before)
        layout = self._layout(width)
        open_lines = self._virtual_open_lines(width, layout)
        self._tail = open_lines
        height = self._reserve(layout.total + len(open_lines))
        grown = height != self._measured.get(width, self._height)
        top = min(self._dirty_from, max(0, height - 1))
        region = Region(0, top, width, max(1, height - top))
        if grown and self._layout_wait() > 0:
            self.refresh(region)
            return
        self._dirty_from = None
        self._height = self._measured[width] = height
        if grown:
            self._laid_out_at = time.monotonic()
        self.refresh(region, layout=grown)

    def _grow(self) -> None:
        """The layout put off (``_virtual_catch_up``, ``_apply_heights``) is due."""
        self._layout_timer = None
        width = self.content_size.width
        if width > 0 and self._is_virtual:
            self._apply_heights()
            self._virtual_catch_up(width)

    def _layout_wait(self) -> float:
        """Seconds until growth may ask for a layout again (``VIRTUAL_LAYOUT_PERIOD``); when
        that is later than now, the timer that asks then is set."""
        wait = self._laid_out_at + VIRTUAL_LAYOUT_PERIOD - time.monotonic()
        if wait > 0 and self._layout_timer is None:
            self._layout_timer = self.set_timer(wait, self._grow, name="markdown-grow")
        return wait

    def _virtual_line(self, y: int, width: int) -> Strip | None:
        """Line ``y`` of a virtually rendered message (``None``: blank), rendering the block
        it falls in if it is not yet; a block that turns out taller or shorter than its
        estimate is cut or padded in this paint, and laid out anew after it."""
        layout = self._layout(width)
        if y >= layout.total:
            open_lines = self._virtual_open_lines(width, layout)
            row = y - layout.total
            return open_lines[row] if row < len(open_lines) else None
        index, row = layout.locate(y)
        lines = self._lines_for(self._blocks[index], width)
        separated = self._separated(index) if lines else 0
        if not layout.is_exact(index):
            layout.settle(index, len(lines) + separated)
            if layout.pending and not self._heights_due:
                self._heights_due = True
                self.call_after_refresh(self._apply_heights)
        row -= separated
        if 0 <= row < len(lines):
            return lines[row]
        return None

    def _apply_heights(self) -> None:
        """Lay out the heights the last paint found, keeping what was on screen in place
        (``_anchor_block``) unless the view follows the end (an anchored scrollback, which
        Textual keeps at the end). While it follows, this waits for the next growth layout
        (``VIRTUAL_LAYOUT_PERIOD``); a view the user moved gets it at once."""
        self._heights_due = False
        width = self.content_size.width
        layout = self._layouts.get(self._cache_key(width))
        for other in self._layouts.values():
            if other is not layout:
                other.apply()  # found at another width (the scrollbar came or went since)
        if layout is None or width <= 0 or not layout.pending:
            return
        scroller = self._scroller()
        if scroller is not None and self.app.animator.is_being_animated(scroller, "scroll_y"):
            # A scroll is under way (a page up, say): the heights apply where it ends.
            if self._layout_timer is None:
                self._layout_timer = self.set_timer(RETRY, self._grow, name="markdown-grow")
            return
        following = scroller is not None and scroller.is_anchored and not scroller._anchor_released
        anchor = None if following else self._anchor_block(layout, scroller)
        if anchor is None and self._layout_wait() > 0:
            return
        self._laid_out_at = time.monotonic()
        shift = layout.apply(anchor)
        height = self._reserve(layout.total + len(self._virtual_open_lines(width, layout)))
        self._height = self._measured[width] = height
        self._dirty_from = None
        self.refresh(layout=True)  # lines moved: every one is painted anew
        if scroller is None or following or not shift:
            return  # an anchored view follows the end by itself
        target = scroller

        def keep_in_place() -> None:
            # Textual's ``scroll_to`` releases the anchor whatever it is told; its private
            # ``_scroll_to`` does as asked (Textual is pinned).
            target._scroll_to(y=target.scroll_y + shift, animate=False, release_anchor=False)

        self.call_after_refresh(keep_in_place)

    def _anchor_block(self, layout: VirtualLayout, scroller: Widget | None) -> int | None:
        """The block that stays where it is on screen when heights apply, so that lines
        seen before stay put whichever way the view moved: the first block in view that
        was painted before this paint; with none in view (a page up or down), the one
        just below the view, or else the first in view (then what is just above stays).
        ``None`` when the message is not in view."""
        if scroller is None or not layout.total:
            return None
        view = scroller.content_region
        top = max(0, view.y - self.content_region.y)
        bottom = min(layout.total, view.bottom - self.content_region.y)
        if bottom <= top:
            return None
        first = layout.locate(top)[0]
        last = layout.locate(bottom - 1)[0]

        def seen(index: int) -> bool:
            return layout.is_exact(index) and not layout.settled(index)

        in_view = next((i for i in range(first, last + 1) if seen(i)), None)
        if in_view is not None:
            return in_view
        if last + 1 < len(layout) and seen(last + 1):
            return last + 1
        return first

    def _scroller(self) -> Widget | None:
        """The nearest container that scrolls vertically (the scrollback)."""
        for ancestor in self.ancestors:
            if isinstance(ancestor, Widget) and ancestor.allow_vertical_scroll:
                return ancestor
        return None

    # -- rendering -------------------------------------------------------------------------

    def _cache_key(self, width: int) -> CacheKey:
        return (width, self.app.current_theme.dark)

    def _render_block(self, block: _Block, width: int) -> None:
        """Render ``block`` at ``width`` with Rich's Markdown into cached strips."""
        from ikigai.tui.widgets.markdown_blocks import BlockMarkdown, ChunkMarkdown, TableChunk

        key = self._cache_key(width)
        dark = key[1]
        console: Console = self.app.console
        options: ConsoleOptions = console.options.update(width=width, height=None)
        theme = DARK_CODE_THEME if dark else LIGHT_CODE_THEME
        chunk: TableChunk | None = None
        if block.kind == "table":
            widths = None
            if block.head is not None:
                self._lines_for(block.head, width)
                widths = block.head.table_widths.get(key)
            chunk = TableChunk(header=block.first, widths=widths)
        make = BlockMarkdown if chunk is None else ChunkMarkdown
        labelled = block.kind != "fence" or block.first
        renderable = make(
            neutralize(block.source),
            code_theme=theme,
            table_chunk=chunk,
            code_start=block.code_start if labelled else None,
        )
        rendered = console.render_lines(renderable, options, pad=True)
        first = 0
        last = len(rendered)
        if block.kind == "fence":
            # A code chunk shows the block's top padding line only first, its bottom one last.
            first += 0 if block.first else 1
            last -= 0 if block.last else 1
        while first < last and _is_plain_blank(rendered[first]):
            first += 1
        while last > first and _is_plain_blank(rendered[last - 1]):
            last -= 1
        _remember(block.renders, key, [Strip(line, width) for line in rendered[first:last]])
        if chunk is not None and block.first:
            block.table_widths[key] = chunk.computed

    def _lines_for(self, block: _Block, width: int) -> list[Strip]:
        lines = block.renders.get(self._cache_key(width))
        if lines is None:
            self._render_block(block, width)
            lines = block.renders[self._cache_key(width)]
        return lines

    def _update_frozen_lines(self, width: int, deadline: float | None = None) -> _Joined:
        """Join the shown blocks' lines at ``width``: all of them, or until ``deadline``."""
        key = self._cache_key(width)
        joined = self._joined.get(key)
        if joined is None:
            joined = _remember(self._joined, key, _Joined())
        blank = Strip.blank(width)
        lines = joined.lines
        while joined.count < self._shown:
            if deadline is not None and time.monotonic() >= deadline:
                break
            block = self._blocks[joined.count]
            block_lines = self._lines_for(block, width)
            joined.count += 1
            if not block_lines:
                continue
            if lines and not block.joined:
                lines.append(blank)
            lines.extend(block_lines)
        return joined

    def _missing_lines(self, joined: _Joined) -> int:
        """About how many lines the shown blocks not joined at this width yet will take.

        A block rendered at another width counts the lines it had there (else
        one), so the height does not collapse while a long answer is rendered
        again at a new width, and the layout does not flip the scrollbar on
        and off meanwhile. Counted once per state (every painted line asks).
        """
        state = (id(joined), joined.count, self._shown)
        if self._missing_memo[0] == state:
            return self._missing_memo[1]
        missing = 0
        for block in self._blocks[joined.count : self._shown]:
            others = next(reversed(block.renders.values()), None)  # the newest width
            missing += (len(others) if others else 1) + (0 if block.joined else 1)
        self._missing_memo = (state, missing)
        return missing

    def _all_lines(self, width: int) -> tuple[list[Strip], int, list[Strip]]:
        """At ``width``: the joined frozen lines, how many lines of shown blocks are still to
        be joined (shown blank meanwhile), and the open block's lines (with its separator)."""
        key = self._cache_key(width)
        joined = self._joined.get(key)
        if self._is_long:
            # Rendered in budgeted steps (``_render_step``), never all at once here.
            if joined is None:
                joined = _remember(self._joined, key, _Joined())
        elif joined is None or joined.count < self._shown:
            joined = self._update_frozen_lines(width)
        missing = self._missing_lines(joined) if joined.count < self._shown else 0
        shown = joined.count == len(self._blocks)  # the open block shows once all are
        open_lines = self._open_lines(width, bool(joined.lines)) if shown else []
        return joined.lines, missing, open_lines

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """A growing answer keeps its painted lines; see ``resize_keeping_lines``."""
        return resize_keeping_lines(self, size, virtual_size, container_size)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's, with the widget's style looked up once for all the lines painted."""
        self._paint_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._paint_style = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The number of rendered lines at ``width``; renders only blocks not cached yet.

        Measuring changes nothing: a layout may ask twice, and both answers
        must agree (the container is sized by the first, the widget by the
        second). A long message (``LONG_MESSAGE``) at a new width or theme is
        rendered by the catch-up steps that follow, one ``RENDER_BUDGET`` at a
        time, each asking for a layout as it grows; until then the blocks not
        rendered at this width count the lines they had at another
        (``_missing_lines``).
        """
        if width <= 0:
            return 0
        self._layout_width = width
        if self._is_virtual:
            layout = self._layout(width)
            open_lines = self._virtual_open_lines(width, layout)
            height = self._reserve(layout.total + len(open_lines))
        else:
            frozen, missing, open_lines = self._all_lines(width)
            height = self._reserve(len(frozen) + missing + len(open_lines))
            late = missing or self._shown < len(self._blocks)
            if self._is_long and late and self._timer is None:
                self._timer = self.set_timer(
                    CATCH_UP_PAUSE, self._on_timer, name="markdown-catch-up"
                )
        # What a layout was told at this width: a catch-up step that changes it asks for
        # a layout again (Textual measures before the widget takes its new size).
        _remember_height(self._measured, width, height)
        if width == self.content_size.width or self.content_size.width <= 0:
            self._height = height
            self._tail = open_lines
        return height

    def _reserve(self, lines: int) -> int:
        """The height to lay out for ``lines``: while streaming, rounded up to ``GROW_LINES``.

        Growing by one line moves everything above it on screen, and Textual
        then lays out and repaints the whole view; growing in steps of a few
        lines does that a few times less often. A finished message is as
        tall as its lines.
        """
        if self._finished or lines == 0:
            return lines
        return -(-lines // GROW_LINES) * GROW_LINES

    def render_line(self, y: int) -> Strip:
        """One line of the message: a cached strip under the widget's own style."""
        width = self.content_size.width
        style: Style = self._paint_style or self.rich_style
        if width <= 0:
            return Strip.blank(0, style)
        if self._is_virtual:
            virtual = self._virtual_line(y, width)
            return Strip.blank(width, style) if virtual is None else virtual.apply_style(style)
        frozen, missing, open_lines = self._all_lines(width)
        if y < len(frozen):
            line = frozen[y]
        elif 0 <= y - len(frozen) - missing < len(open_lines):
            line = open_lines[y - len(frozen) - missing]
        else:
            return Strip.blank(width, style)
        return line.apply_style(style)
