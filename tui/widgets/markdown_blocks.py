"""One Markdown block rendered by Rich: the pieces ``markdown_stream`` renders with.

Kept apart from the widget so that Rich's Markdown, its table and markdown-it
load when the first message is rendered, not when the app starts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

from markdown_it import MarkdownIt
from markdown_it.token import Token
from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement, TableElement
from rich.style import Style
from rich.table import Table
from rich.text import Text

LABEL_STYLE = Style(bold=True, dim=True)
"""The line above a code block: its language and number (``/copy code N``; Ctrl+B copies
the last one)."""


@functools.cache
def parser() -> MarkdownIt:
    """The parser configuration Rich's ``Markdown`` uses, so block boundaries agree.

    One instance is shared: building a ``MarkdownIt`` costs about half a
    millisecond, and parsing keeps no state in it between calls.
    """
    return MarkdownIt().enable("strikethrough").enable("table")


class ChunkTable(Table):
    """Rich's table, with the column widths of the first chunk reused by the others.

    ``_calculate_column_widths`` is Rich's (private, stable since Rich 10):
    the first chunk records what Rich computed, later chunks return it, so
    their columns line up. A widget test compares chunked and whole tables.
    """

    def __init__(self, *args: Any, widths: list[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_widths = widths
        self.computed_widths: list[int] = []

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        if self.fixed_widths is not None and len(self.fixed_widths) == len(self.columns):
            return list(self.fixed_widths)
        widths: list[int] = super()._calculate_column_widths(console, options)
        self.computed_widths = widths
        return widths


class ChunkTableElement(TableElement):
    """One chunk of a long table: Rich's ``TableElement`` rendered as ``ChunkTable``."""

    chunk: TableChunk

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> MarkdownElement:
        element = cls()
        element.chunk = getattr(markdown, "table_chunk", None) or TableChunk()
        return element

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        chunk = self.chunk
        # As rich.markdown.TableElement (Rich 13-15) builds it, plus the chunk's settings.
        table = ChunkTable(
            box=box.SIMPLE,
            pad_edge=False,
            style="markdown.table.border",
            show_edge=True,
            collapse_padding=True,
            show_header=chunk.header,
            widths=chunk.widths,
        )
        if self.header is not None and self.header.row is not None:
            for column in self.header.row.cells:
                heading = column.content.copy()
                heading.stylize("markdown.table.header")
                table.add_column(heading)
        if self.body is not None:
            for row in self.body.rows:
                table.add_row(*[element.content for element in row.cells])
        yield table
        chunk.computed = table.computed_widths


@dataclass(slots=True)
class TableChunk:
    """How to render one chunk of a table: with its header, with fixed column widths."""

    header: bool = True
    widths: list[int] | None = None
    computed: list[int] = field(default_factory=list)


class LabelledCodeBlock(CodeBlock):
    """Rich's fenced code block with a label above it: ``python · code 2``.

    The number is the block's place among the message's fenced code blocks,
    as ``/copy code N`` and the copy picker count them. A block markdown
    without ``code_start`` (a later chunk of a long code block) has no label.
    """

    label = ""

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> CodeBlock:
        block = super().create(markdown, token)
        start = getattr(markdown, "code_start", None)
        if isinstance(block, LabelledCodeBlock) and isinstance(markdown, BlockMarkdown):
            if start is not None:
                block.label = f"{block.lexer_name} · code {start + markdown.codes_seen + 1}"
            markdown.codes_seen += 1
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.label:
            yield Text(self.label, style=LABEL_STYLE, end="\n")
        yield from super().__rich_console__(console, options)


class BlockMarkdown(Markdown):
    """Rich's ``Markdown`` parsed with the shared parser instead of a new one per block.

    Sets the same attributes as ``Markdown.__init__`` (rich 13-15); a widget
    test compares the result with Rich's own rendering of the whole text. A
    ``table_chunk`` renders its table as a chunk of a longer one. Links show
    their target after the text (``text (url)``: Rich's rendering without
    terminal hyperlinks), and fenced code blocks carry a label numbered from
    ``code_start`` (``None``: no label).
    """

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": LabelledCodeBlock,
    }

    def __init__(
        self,
        markup: str,
        code_theme: str,
        table_chunk: TableChunk | None = None,
        code_start: int | None = None,
    ) -> None:
        self.markup = markup
        self.parsed = parser().parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme
        self.table_chunk = table_chunk
        self.code_start = code_start
        self.codes_seen = 0


class ChunkMarkdown(BlockMarkdown):
    """A block whose table is one chunk of a longer table (``table_chunk``)."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **BlockMarkdown.elements,
        "table_open": ChunkTableElement,
    }
