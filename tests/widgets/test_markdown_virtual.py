"""A very long message is rendered virtually: what is painted is rendered, and it looks as
rendering the whole message would.

The reference for each view is the same message rendered whole (the threshold
raised so that it renders eagerly), compared screen by screen: the end, the
top, and page after page up from the end and down from the top (where the
estimated heights above the view are replaced by real ones as it goes, and
the lines already seen must stay in place).
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot

from ikigai.tui.widgets import markdown_stream
from ikigai.tui.widgets.markdown_stream import StreamingMarkdown, _Block
from ikigai.tui.widgets.markdown_virtual import VirtualLayout, estimate_lines
from tests.widgets.helpers import screen_text
from tests.widgets.test_markdown_stream import (
    MarkdownApp,
    count_renders,
    laid_out,
    settle,
    stream,
)

SIZE = (80, 30)
TEXT_COLUMNS = SIZE[0] - 2
"""The columns left of the scrollbar (whose thumb shows estimated heights: not compared)."""
BLOCKS = 2_400
"""More blocks than ``VIRTUAL_BLOCKS`` (and more characters than ``VIRTUAL_CHARS``):
paragraphs, code, tables and headings."""


def text_of(screen: str, columns: int = TEXT_COLUMNS) -> str:
    lines = [line[:columns].rstrip() for line in screen.splitlines()]
    return "\n".join(lines).rstrip("\n")


def long_message(blocks: int = BLOCKS) -> str:
    parts = []
    for n in range(blocks):
        if n % 10 == 3:
            parts.append(f"```python\nx = {n}\ny = x * 2\n```")
        elif n % 10 == 6:
            parts.append(f"| a | b |\n|---|---|\n| {n} | {n * 2} |")
        elif n % 10 == 8:
            parts.append(f"## Heading {n}")
        else:
            parts.append(f"Paragraph {n} " + "with words that wrap around the line " * (n % 4 + 1))
    return "\n\n".join(parts) + "\n"


async def still(pilot: Pilot[Any], widget: StreamingMarkdown) -> None:
    """Until what the last paint rendered is laid out and painted again."""
    for _ in range(3):
        await pilot.pause()
        await settle(pilot, widget)


async def views(text: str, keys: list[str], *, streamed: bool = False) -> list[str]:
    """The screen at the end of the message, then after each of ``keys``; the last item
    says how it was rendered (``virtual`` or ``whole``)."""
    widget = StreamingMarkdown() if streamed else StreamingMarkdown(text, finished=True)
    app = MarkdownApp(widget)
    async with app.run_test(size=SIZE) as pilot:
        if streamed:
            await stream(pilot, widget, text, 4_000, paint_every=4)
            widget.finish()
        await pilot.pause()
        await settle(pilot, widget)
        await laid_out(pilot, app)
        scroll = app.query_one(VerticalScroll)
        scroll.focus()
        scroll.anchor()  # the view follows the end, as the scrollback does
        await still(pilot, widget)
        screens = [text_of(screen_text(app))]
        for key in keys:
            await pilot.press(key)
            await still(pilot, widget)
            screens.append(text_of(screen_text(app)))
        screens.append("virtual" if widget._is_virtual else "whole")
    return screens


async def rendered_whole(
    monkeypatch: pytest.MonkeyPatch, text: str, keys: list[str], *, streamed: bool = False
) -> list[str]:
    with monkeypatch.context() as patch:
        patch.setattr(markdown_stream, "VIRTUAL_BLOCKS", 10**9)
        patch.setattr(markdown_stream, "VIRTUAL_CHARS", 10**12)
        return await views(text, keys, streamed=streamed)


PAGES = ["pageup"] * 8 + ["pagedown"] * 3 + ["home"] + ["pagedown"] * 5


async def test_a_very_long_message_renders_only_what_is_painted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered = count_renders(monkeypatch)
    widget = StreamingMarkdown(long_message(), finished=True)
    app = MarkdownApp(widget)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await settle(pilot, widget)
        app.query_one(VerticalScroll).scroll_end(animate=False)
        await still(pilot, widget)
        blocks = {id(block) for block in widget._blocks}
        assert len(blocks) > markdown_stream.VIRTUAL_BLOCKS
        # A screen of 30 lines shows a few blocks: those (and the tables' heads) are
        # rendered, once a width (the first layout, before the scrollbar came, was wider).
        frozen = {key: count for key, count in rendered.items() if key[0] in blocks}
        assert 0 < len(frozen) < 60
        assert max(frozen.values()) == 1
        assert "That" not in screen_text(app) and "Paragraph 2399" in screen_text(app)


async def test_pages_of_a_very_long_message_look_as_rendered_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = long_message()
    virtual = await views(text, PAGES)
    whole = await rendered_whole(monkeypatch, text, PAGES)
    assert (virtual.pop(), whole.pop()) == ("virtual", "whole")
    for step, (seen, expected) in enumerate(zip(virtual, whole, strict=True)):
        where = "the end" if step == 0 else f"after {PAGES[:step]}"
        assert seen == expected, where


async def test_a_very_long_streamed_message_ends_as_rendered_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Streamed in pieces, the message turns virtual on the way and its end and pages look
    as the whole message rendered at once."""
    text = long_message()
    keys = ["pageup"] * 3
    virtual = await views(text, keys, streamed=True)
    whole = await rendered_whole(monkeypatch, text, keys)
    assert (virtual.pop(), whole.pop()) == ("virtual", "whole")
    assert virtual == whole


@pytest.mark.parametrize(
    ("source", "kind", "first", "last", "width", "lines"),
    [
        ("A short paragraph.\n", "markdown", True, True, 80, 1),
        ("x" * 150 + "\n", "markdown", True, True, 80, 2),
        ("one\ntwo\n", "markdown", True, True, 80, 2),
        ("```py\na = 1\nb = 2\n", "fence", True, False, 80, 3),  # top padding + 2 lines
        ("```py\nc = 3\n```\n", "fence", False, True, 80, 2),  # 1 line + bottom padding
        ("| a |\n|---|\n| 1 |\n| 2 |\n", "table", True, True, 80, 6),  # head 3 + 2 + border
        ("| a |\n|---|\n| 3 |\n", "table", False, False, 80, 1),
    ],
)
def test_height_estimates(
    source: str, kind: str, first: bool, last: bool, width: int, lines: int
) -> None:
    block = _Block(source, kind=kind, first=first, last=last)  # type: ignore[arg-type]
    assert estimate_lines(block, width) == lines


def test_the_layout_finds_blocks_and_keeps_the_anchor_in_place() -> None:
    layout = VirtualLayout()
    layout.extend([(3, False), (4, False), (2, True), (5, False)])
    assert layout.total == 14
    assert [layout.locate(y) for y in (0, 2, 3, 6, 7, 9, 13)] == [
        (0, 0),
        (0, 2),
        (1, 0),
        (1, 3),
        (2, 0),
        (3, 0),
        (3, 4),
    ]
    layout.settle(0, 6)  # rendered taller than estimated
    layout.settle(3, 1)  # and shorter
    assert layout.pending and layout.total == 14  # lines are found as before until apply
    assert layout.locate(3) == (1, 0)
    # Block 2 stays where it is on screen: the view moves by what block 0 grew.
    assert layout.apply(above=2) == 3
    assert not layout.pending
    assert layout.total == 13
    assert [layout.start(i) for i in range(4)] == [0, 6, 10, 12]
    assert all(layout.is_exact(i) for i in (0, 2, 3)) and not layout.is_exact(1)


async def resized_views(text: str) -> list[str]:
    """The end at 80 columns, then at 100, then after a few pages."""
    widget = StreamingMarkdown(text, finished=True)
    app = MarkdownApp(widget)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await settle(pilot, widget)
        scroll = app.query_one(VerticalScroll)
        scroll.focus()
        scroll.anchor()
        await still(pilot, widget)
        screens = [text_of(screen_text(app))]
        await pilot.resize_terminal(100, SIZE[1])
        await still(pilot, widget)
        screens.append(text_of(screen_text(app), 98))
        for key in ["pageup", "pageup", "home", "pagedown"]:
            await pilot.press(key)
            await still(pilot, widget)
            screens.append(text_of(screen_text(app), 98))
        screens.append("virtual" if widget._is_virtual else "whole")
    return screens


async def test_a_very_long_message_at_a_new_width_looks_as_rendered_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The terminal widens: the message is laid out again (estimates for what was not
    painted at that width) and its end and pages look as the whole message at that width."""
    text = long_message()
    virtual = await resized_views(text)
    with monkeypatch.context() as patch:
        patch.setattr(markdown_stream, "VIRTUAL_BLOCKS", 10**9)
        patch.setattr(markdown_stream, "VIRTUAL_CHARS", 10**12)
        whole = await resized_views(text)
    assert (virtual.pop(), whole.pop()) == ("virtual", "whole")
    assert virtual == whole


async def test_a_view_moved_away_from_a_followed_answer_stays_where_it_was_put() -> None:
    """Heights waiting to apply while the view followed the end do not pull it back there
    once the user has moved it (the anchor is released and stays so)."""
    widget = StreamingMarkdown()
    app = MarkdownApp(widget)
    async with app.run_test(size=SIZE) as pilot:
        scroll = app.query_one(VerticalScroll)
        scroll.anchor()
        await stream(pilot, widget, long_message(), 4_000, paint_every=4)
        assert widget._is_virtual
        scroll.scroll_home(animate=False)  # while more heights wait for their layout
        widget.finish()
        await still(pilot, widget)
        await pilot.pause(markdown_stream.VIRTUAL_LAYOUT_PERIOD * 2)
        await still(pilot, widget)
        assert scroll.scroll_y == 0 and scroll.max_scroll_y > 0
        assert "Paragraph 0 " in screen_text(app)
