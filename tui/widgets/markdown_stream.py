"""Markdown that grows by appending while a model streams.

The text is split into top-level Markdown blocks (paragraphs, headings, lists,
block quotes, tables, fenced code) as it arrives. A block that can no longer
change is rendered once, at the current width, into cached lines and never
touched again; only the last, still-open block is re-rendered, at most
``StreamingMarkdown.MAX_FPS`` times a second. The widget is a single line-API
widget: painting copies cached lines, so the cost of a refresh does not grow
with the length of the message.

Control characters are data: each block's source is neutralized (``\\x1b`` for
ESC, as ``engine.textsafety.neutralize`` shows them) just before Rich renders
it, so no paragraph, heading, inline or fenced code, link, table cell or
quote can carry an escape sequence to the terminal. The text kept for copying
(``markdown``, ``code_blocks``) is as received, with CR LF / CR read as line
breaks as CommonMark does.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from rich.console import Console, ConsoleOptions
from rich.markdown import Markdown
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.strip import Strip
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget

from ikigai.engine.textsafety import neutralize

DARK_CODE_THEME = "monokai"
LIGHT_CODE_THEME = "friendly"


@functools.cache
def _parser() -> MarkdownIt:
    """The parser configuration Rich's ``Markdown`` uses, so block boundaries agree.

    One instance is shared: building a ``MarkdownIt`` costs about half a
    millisecond, and parsing keeps no state in it between calls.
    """
    return MarkdownIt().enable("strikethrough").enable("table")


class _BlockMarkdown(Markdown):
    """Rich's ``Markdown`` parsed with the shared parser instead of a new one per block.

    Sets the same attributes as ``Markdown.__init__`` (rich 13-15); a widget
    test compares the result with Rich's own rendering of the whole text.
    """

    def __init__(self, markup: str, code_theme: str) -> None:
        self.markup = markup
        self.parsed = _parser().parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = True
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


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


def _fence_contents(tokens: list[Token]) -> list[str]:
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
    """One top-level Markdown block and its rendering at one width and theme."""

    source: str
    fences: list[str]
    cache_key: tuple[int, bool] | None = None
    lines: list[Strip] = field(default_factory=list)


@dataclass(slots=True)
class _Split:
    """Top-level blocks found at the start of the open text, and where the rest begins."""

    blocks: list[_Block]
    consumed: int


def split_blocks(text: str, *, final: bool, parser: MarkdownIt | None = None) -> _Split:
    """Split ``text`` (starting at a block boundary) into blocks that can no longer change.

    A top-level block is complete once the next top-level block has started on a
    complete line: nothing appended later can extend it then (a partial line such
    as ``#`` may still turn out to be ``#hashtag``, a continuation). With
    ``final`` every block is complete. ``consumed`` is the offset in ``text``
    where the first incomplete block starts (``len(text)`` when all are done).
    """
    parser = parser or _parser()
    tokens = parser.parse(text)
    starts = _line_starts(text)
    # Index of the first line that is not yet terminated by a newline.
    partial_line = len(starts) - 1 if not text.endswith("\n") else len(starts)

    top: list[tuple[int, int, int]] = []  # (first line, end line, first token index)
    for index, token in enumerate(tokens):
        if token.level == 0 and token.nesting >= 0 and token.map is not None:
            top.append((token.map[0], token.map[1], index))

    blocks: list[_Block] = []
    consumed = 0
    for position, (first, end, token_index) in enumerate(top):
        if position + 1 < len(top):
            next_first, _, next_token_index = top[position + 1]
            if not final and next_first >= partial_line:
                break
        elif not final:
            break
        else:
            next_first, next_token_index = len(starts), len(tokens)
        source = text[starts[first] : starts[end] if end < len(starts) else len(text)]
        blocks.append(_Block(source, _fence_contents(tokens[token_index:next_token_index])))
        consumed = starts[next_first] if next_first < len(starts) else len(text)
    if final:
        consumed = len(text)
    return _Split(blocks, consumed)


class StreamingMarkdown(Widget):
    """A Markdown answer that is appended to while it streams, rendered block by block.

    ``append`` only buffers text and schedules a render; renders are coalesced to
    at most ``MAX_FPS`` a second. Completed blocks are rendered once (per width
    and theme) into cached lines; only the open block at the end is re-rendered.
    A backlog of completed blocks (a stream faster than rendering) is rendered
    ``RENDER_BUDGET`` seconds at a time so keys and frames are handled in between.
    ``finish`` renders what is left and freezes the widget. Constructed with
    ``finished=True`` (a message loaded from history) it splits and renders once,
    with no timers.
    """

    DEFAULT_CSS = """
    StreamingMarkdown {
        height: auto;
    }
    """

    MAX_FPS = 25
    """Upper bound on re-renders of the open block per second while streaming."""

    RENDER_BUDGET = 0.012
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
        self._blocks: list[_Block] = []
        self._open: _Block | None = None
        self._text = ""  # normalized text handed to the splitter
        self._open_start = 0  # offset in _text where the open (unfrozen) text begins
        self._pending: list[str] = []
        self._finished = False
        self._timer: Timer | None = None
        self._last_flush = 0.0
        self._shown = 0  # frozen blocks on display; the open block shows once all are
        # Concatenated lines of the shown blocks at the cache key below, with separators.
        self._frozen_lines: list[Strip] = []
        self._frozen_count = 0  # how many blocks _frozen_lines holds
        self._lines_key: tuple[int, bool] | None = None
        if markdown:
            self._pending.append(markdown)
        if finished:
            self._flush(final=True)
            self._finished = True

    # -- public API ------------------------------------------------------------------------

    @property
    def markdown(self) -> str:
        """All the Markdown received so far, including text not yet rendered."""
        return self._text + "".join(self._pending)

    @property
    def finished(self) -> bool:
        """Whether ``finish`` was called (or the widget was built finished)."""
        return self._finished

    @property
    def code_blocks(self) -> list[str]:
        """The contents of the fenced code blocks, in order (an unclosed last fence included)."""
        result = [code for block in self._blocks for code in block.fences]
        tail = _normalize_newlines(self.markdown[self._open_start :])
        if tail.strip():
            result.extend(_fence_contents(self._parser.parse(tail)))
        return result

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
        self._flush(final=True)

    # -- splitting -------------------------------------------------------------------------

    def _on_timer(self) -> None:
        self._timer = None
        if self._finished:
            self._catch_up()
        else:
            self._flush(final=False)

    def _caught_up(self) -> bool:
        """Whether everything split so far is on display (no render step pending)."""
        return self._shown == len(self._blocks) and self._timer is None

    def _on_mount(self, event: events.Mount) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        if self._pending and not self._finished:
            self._flush(final=False)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self._lines_key = None
        self.refresh(layout=True)

    def _flush(self, *, final: bool) -> None:
        """Move buffered text into blocks; freeze the blocks that are complete."""
        self._last_flush = time.monotonic()
        if self._pending:
            incoming = "".join(self._pending)
            self._pending.clear()
            # A trailing "\r" may be the first half of "\r\n"; keep it for the next flush.
            if not final and incoming.endswith("\r"):
                self._pending.append("\r")
                incoming = incoming[:-1]
            self._text += _normalize_newlines(incoming)
        open_text = self._text[self._open_start :]
        split = split_blocks(open_text, final=final, parser=self._parser)
        self._blocks.extend(split.blocks)
        self._open_start += split.consumed
        rest = open_text[split.consumed :]
        self._open = _Block(rest, []) if rest.strip() and not final else None
        self._catch_up()

    def _catch_up(self) -> None:
        """Render newly frozen blocks within the budget; schedule the rest for the next step."""
        width = self.content_size.width if self.is_mounted else 0
        if width <= 0:
            # Not laid out yet: the first layout renders everything at its width.
            self._shown = len(self._blocks)
            return
        deadline = time.monotonic() + self.RENDER_BUDGET
        self._update_frozen_lines(width)
        while self._shown < len(self._blocks) and time.monotonic() < deadline:
            self._shown += 1
            self._update_frozen_lines(width)
        if self._shown < len(self._blocks) and self._timer is None:
            self._timer = self.set_timer(0.001, self._on_timer, name="markdown-catch-up")
        self.refresh(layout=True)

    # -- rendering -------------------------------------------------------------------------

    def _cache_key(self, width: int) -> tuple[int, bool]:
        return (width, self.app.current_theme.dark)

    def _render_block(self, block: _Block, width: int) -> None:
        """Render ``block`` at ``width`` with Rich's Markdown into cached strips."""
        key = self._cache_key(width)
        dark = key[1]
        console: Console = self.app.console
        options: ConsoleOptions = console.options.update(width=width, height=None)
        renderable = _BlockMarkdown(
            neutralize(block.source), code_theme=DARK_CODE_THEME if dark else LIGHT_CODE_THEME
        )
        rendered = console.render_lines(renderable, options, pad=True)
        first = 0
        last = len(rendered)
        while first < last and _is_plain_blank(rendered[first]):
            first += 1
        while last > first and _is_plain_blank(rendered[last - 1]):
            last -= 1
        block.lines = [Strip(line, width) for line in rendered[first:last]]
        block.cache_key = key

    def _lines_for(self, block: _Block, width: int) -> list[Strip]:
        if block.cache_key != self._cache_key(width):
            self._render_block(block, width)
        return block.lines

    def _update_frozen_lines(self, width: int) -> None:
        key = self._cache_key(width)
        if self._lines_key != key:
            self._frozen_lines = []
            self._frozen_count = 0
            self._lines_key = key
        blank = Strip.blank(width)
        lines = self._frozen_lines
        for block in self._blocks[self._frozen_count : self._shown]:
            block_lines = self._lines_for(block, width)
            if not block_lines:
                continue
            if lines:
                lines.append(blank)
            lines.extend(block_lines)
        self._frozen_count = self._shown

    def _all_lines(self, width: int) -> tuple[list[Strip], list[Strip]]:
        """The frozen lines and the open block's lines (with its separator) at ``width``."""
        self._update_frozen_lines(width)
        open_lines: list[Strip] = []
        if self._open is not None and self._shown == len(self._blocks):
            block_lines = self._lines_for(self._open, width)
            if block_lines and self._frozen_lines:
                open_lines.append(Strip.blank(width))
            open_lines.extend(block_lines)
        return self._frozen_lines, open_lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The number of rendered lines at ``width``; renders only blocks not cached yet."""
        if width <= 0:
            return 0
        frozen, open_lines = self._all_lines(width)
        return len(frozen) + len(open_lines)

    def render_line(self, y: int) -> Strip:
        """One line of the message: a cached strip under the widget's own style."""
        width = self.content_size.width
        style: Style = self.rich_style
        if width <= 0:
            return Strip.blank(0, style)
        frozen, open_lines = self._all_lines(width)
        if y < len(frozen):
            line = frozen[y]
        elif y - len(frozen) < len(open_lines):
            line = open_lines[y - len(frozen)]
        else:
            return Strip.blank(width, style)
        return line.apply_style(style)
