"""Pilot tests of ``StreamingMarkdown``: streamed rendering equals rendering at once."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.pilot import Pilot

from ikigai.tui.widgets.markdown_blocks import BlockMarkdown
from ikigai.tui.widgets.markdown_stream import StreamingMarkdown, _Block, split_blocks
from tests.widgets.helpers import content_lines, screen_text

DOC = """\
# Streaming test

A paragraph with *emphasis*, **strong**, `inline code` and a [link](https://example.com).
It continues on a second line.

Setext heading
--------------

- loose item one

- loose item two
  continued inside the item

1. first
2. second

> quoted text
> over two lines

| Name | Value |
|------|------:|
| a    | 1     |
| b    | 22    |

```python
def double(x):

    # not a heading
    return x * 2
```
para before a hashtag
#hashtag is not a heading

~~~bash
echo "tilde fence"
~~~

- item with code:

  ```js
  const x = 1;
  ```

Final paragraph.
"""

SIZE = (80, 100)


class MarkdownApp(App[None]):
    """One ``StreamingMarkdown`` in a scroll, as in the scrollback."""

    def __init__(self, widget: StreamingMarkdown) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self.widget


async def stream(
    pilot: Pilot[Any], widget: StreamingMarkdown, text: str, chunk: int, paint_every: int = 1
) -> None:
    """Append ``text`` in ``chunk``-sized pieces, splitting after each, painting every few."""
    for count, start in enumerate(range(0, len(text), chunk), 1):
        widget.append(text[start : start + chunk])
        widget._flush(final=False)  # what the coalescing timer does, made deterministic
        if count % paint_every == 0:
            await pilot.pause()


async def settle(pilot: Pilot[Any], widget: StreamingMarkdown) -> None:
    """Wait until every block received is on display, then for one more frame."""
    while not widget._caught_up():
        await pilot.pause(0.005)
    await pilot.pause()


async def laid_out(pilot: Pilot[Any], app: MarkdownApp) -> None:
    """Wait until the scroll's last layout took the widget's final height (the scrollbar's
    thumb is drawn from it)."""
    container = app.query_one(VerticalScroll)
    for _ in range(400):
        if container.virtual_size.height == app.widget.outer_size.height:
            break
        await pilot.pause(0.005)
    await pilot.pause()


def count_renders(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[int, int]]:
    """From now on, how often each block is rendered at each width: ``(id(block), width)``
    (every rendered block is kept alive, so ids stay unique)."""
    renders: Counter[tuple[int, int]] = Counter()
    kept: list[_Block] = []
    original = StreamingMarkdown._render_block

    def counting(self: StreamingMarkdown, block: _Block, width: int) -> None:
        kept.append(block)
        renders[(id(block), width)] += 1
        original(self, block, width)

    monkeypatch.setattr(StreamingMarkdown, "_render_block", counting)
    return renders


async def rendered_at_once(text: str, size: tuple[int, int] = SIZE) -> str:
    app = MarkdownApp(StreamingMarkdown(text, finished=True))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        # A long answer is rendered in budgeted steps even at once: compare it done.
        await settle(pilot, app.widget)
        await laid_out(pilot, app)
        return screen_text(app)


def rich_whole_document(text: str, width: int) -> str:
    """Rich's rendering of the whole text at once, with the widget's elements (code labels,
    link targets shown): the widget renders block by block, this in one go."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(BlockMarkdown(text, "monokai", code_start=0))
    return console.export_text(styles=False)


@pytest.mark.parametrize(("chunk", "paint_every"), [(1, 6), (4, 1), (17, 1)])
async def test_streamed_render_equals_render_at_once(chunk: int, paint_every: int) -> None:
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=SIZE) as pilot:
        await stream(pilot, app.widget, DOC, chunk, paint_every)
        app.widget.finish()
        await settle(pilot, app.widget)
        streamed = screen_text(app)
        assert app.widget.markdown == DOC
    at_once = await rendered_at_once(DOC)
    assert streamed == at_once
    assert "#hashtag is not a heading" in streamed
    assert "# not a heading" in streamed


async def test_render_matches_rich_markdown_of_the_whole_document() -> None:
    at_once = await rendered_at_once(DOC)
    # Block spacing is the widget's own (one blank line between blocks); the content is Rich's.
    assert content_lines(at_once) == content_lines(rich_whole_document(DOC, SIZE[0]))


async def test_blocks_are_split_at_top_level() -> None:
    widget = StreamingMarkdown(DOC, finished=True)
    sources = [block.source.split("\n", 1)[0] for block in widget._blocks]
    assert sources == [
        "# Streaming test",
        "A paragraph with *emphasis*, **strong**, `inline code` and a [link](https://example.com).",
        "Setext heading",
        "- loose item one",
        "1. first",
        "> quoted text",
        "| Name | Value |",
        "```python",
        "para before a hashtag",
        "~~~bash",
        "- item with code:",
        "Final paragraph.",
    ]


async def test_completed_blocks_are_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    renders: Counter[tuple[int, int]] = Counter()
    rendered_blocks: dict[int, _Block] = {}
    original = StreamingMarkdown._render_block

    def counting(self: StreamingMarkdown, block: _Block, width: int) -> None:
        rendered_blocks[id(block)] = block  # keeps transient blocks alive: ids stay unique
        renders[(id(block), width)] += 1
        original(self, block, width)

    monkeypatch.setattr(StreamingMarkdown, "_render_block", counting)
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=SIZE) as pilot:
        await stream(pilot, app.widget, DOC, 5)
        app.widget.finish()
        await settle(pilot, app.widget)
        width = app.widget.content_size.width
        blocks = app.widget._blocks
    assert len(blocks) == 12
    for block in blocks:
        assert renders[(id(block), width)] == 1, block.source
    # The open block was rendered again and again while it grew, as separate transient blocks.
    transient = [key for key in renders if rendered_blocks[key[0]] not in blocks]
    assert len(transient) > 50


async def test_open_code_fence_renders_as_code_then_closes() -> None:
    code = "".join(f"value_{n} = compute({n})  # step {n}\n" for n in range(12))
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(80, 40)) as pilot:
        widget = app.widget
        await stream(pilot, widget, "Intro.\n\n```python\n", 6)
        await stream(pilot, widget, code, 3)
        assert [block.source for block in widget._blocks] == ["Intro.\n"]
        assert widget._open is not None and widget._open.source.startswith("```python\n")
        assert widget.code_blocks == [code]
        on_screen = screen_text(app)
        assert "value_11 = compute(11)  # step 11" in on_screen
        assert "```" not in on_screen
        # Highlighted: Syntax paints the code on the code theme's background.
        code_line = next(
            line
            for line in widget._lines_for(widget._open, widget.content_size.width)
            if "value_0" in line.text
        )
        assert any(segment.style and segment.style.bgcolor for segment in code_line)
        await stream(pilot, widget, "```\n\nAfter the code.\n", 2)
        assert [block.source for block in widget._blocks] == [
            "Intro.\n",
            f"```python\n{code}```\n",
        ]
        widget.finish()
        await settle(pilot, widget)
        assert "After the code." in screen_text(app)
    assert widget.code_blocks == [code]


async def test_partial_line_does_not_freeze_the_previous_block() -> None:
    # "#" alone would be an empty heading; with "hashtag" after it, it is paragraph text.
    assert split_blocks("para\n#", final=False).blocks == []
    done = split_blocks("para\n#hashtag\n\nnext\n", final=False)
    assert [block.source for block in done.blocks] == ["para\n#hashtag\n"]
    assert done.consumed == len("para\n#hashtag\n\n")
    assert split_blocks("para\n\n", final=False).blocks == []
    assert [block.source for block in split_blocks("para\n\n", final=True).blocks] == ["para\n"]


async def test_append_after_finish_raises() -> None:
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(40, 10)) as pilot:
        app.widget.append("Hello")
        app.widget.finish()
        await settle(pilot, app.widget)
        assert app.widget.finished
        with pytest.raises(RuntimeError):
            app.widget.append(" world")
        assert app.widget.markdown == "Hello"
        assert "Hello" in screen_text(app)


async def test_finished_message_renders_once_without_timers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renders: Counter[int] = Counter()
    original = StreamingMarkdown._render_block

    def counting(self: StreamingMarkdown, block: _Block, width: int) -> None:
        renders[id(block)] += 1
        original(self, block, width)

    monkeypatch.setattr(StreamingMarkdown, "_render_block", counting)
    widget = StreamingMarkdown(DOC, finished=True)
    assert widget.finished
    app = MarkdownApp(widget)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert widget._timer is None
        assert widget._open is None
        assert sorted(renders) == sorted(id(block) for block in widget._blocks)
        assert set(renders.values()) == {1}
        with pytest.raises(RuntimeError):
            widget.append("more")


async def test_timer_renders_while_streaming_without_finish() -> None:
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(60, 20)) as pilot:
        for word in ["Streaming", "words", "arrive", "one", "by", "one"]:
            app.widget.append(word + " ")
        app.widget.append("\n\nSecond paragraph")
        await pilot.pause(3 / StreamingMarkdown.MAX_FPS)
        await pilot.pause()
        on_screen = screen_text(app)
        assert "Streaming words arrive one by one" in on_screen
        assert "Second paragraph" in on_screen
        assert not app.widget.finished


async def test_code_blocks_in_order() -> None:
    widget = StreamingMarkdown(DOC, finished=True)
    assert widget.code_blocks == [
        "def double(x):\n\n    # not a heading\n    return x * 2\n",
        'echo "tilde fence"\n',
        "const x = 1;\n",
    ]
    streaming = StreamingMarkdown()
    streaming.append("text\n\n```sh\nls -l\n```\n\n```py\nprint(1)")
    assert streaming.code_blocks == ["ls -l\n", "print(1)"]


async def test_width_change_rewraps() -> None:
    text = "A long paragraph " * 12 + "\n\n- a list item " + "that wraps " * 8 + "\n"
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(80, 40)) as pilot:
        await stream(pilot, app.widget, text, 11)
        app.widget.finish()
        await settle(pilot, app.widget)
        wide = screen_text(app)
        await pilot.resize_terminal(40, 40)
        await pilot.pause()
        narrow = screen_text(app)
    assert wide == await rendered_at_once(text, (80, 40))
    assert narrow == await rendered_at_once(text, (40, 40))
    assert max(len(line) for line in narrow.splitlines()) <= 40
    assert len(narrow.splitlines()) > len(wide.splitlines())


async def test_a_long_answer_keeps_its_renders_and_height_across_two_widths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scrollbar coming and going (or a resize back) costs no render of a block twice,
    and while a long answer is rendered again at a new width its height does not collapse
    (a collapsed height would drop the scrollbar, change the width again, and so on)."""
    renders = count_renders(monkeypatch)
    text = "".join(
        f"Paragraph {n} says something *worth* wrapping " * 3 + "\n\n" for n in range(300)
    )
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(80, 40)) as pilot:
        await stream(pilot, app.widget, text, 4000)
        app.widget.finish()
        await settle(pilot, app.widget)
        full = app.widget.size.height
        heights: list[int] = []
        widths: set[int] = set()
        for size in ((60, 40), (80, 40), (60, 40), (80, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            heights.append(app.widget.size.height)
            await settle(pilot, app.widget)
            widths.add(app.widget.content_size.width)
        blocks = app.widget._blocks
        await laid_out(pilot, app)
        on_screen = screen_text(app)
    assert len(widths) == 2
    for block in blocks:
        for width in widths:
            assert renders[(id(block), width)] == 1, block.source
    # Right after each resize, before the steps that follow: about as tall as when done.
    assert min(heights) >= full * 0.7, (heights, full)
    assert on_screen == await rendered_at_once(text, (80, 40))


async def test_measuring_a_long_answer_renders_nothing_and_answers_the_same() -> None:
    """A layout measures a widget more than once (its container first, then the widget):
    with a backlog still to render, both answers agree, and the steps that follow bring
    the answer on screen, its last line included."""
    text = "".join(f"Paragraph {n} is *long enough* to wrap " * 4 + "\n\n" for n in range(400))
    text += "The last line.\n"
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        widget = app.widget
        widget.feed(text)  # a burst: split and rendered in budgeted steps from here
        widget.finish()
        width = widget.content_size.width
        assert not widget._caught_up()  # a backlog: rendering goes on in steps
        for other in (width, width + 1):
            first = widget.get_content_height(Size(80, 40), Size(80, 40), other)
            second = widget.get_content_height(Size(80, 40), Size(80, 40), other)
            assert first == second
        await settle(pilot, widget)
        await laid_out(pilot, app)
        app.query_one(VerticalScroll).scroll_end(animate=False)
        await pilot.pause()
        assert "The last line." in screen_text(app)
        container = app.query_one(VerticalScroll)
        assert container.virtual_size.height >= widget.size.height


async def test_carriage_returns_are_newlines() -> None:
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=(40, 10)) as pilot:
        await stream(pilot, app.widget, "one\r\n\r\ntwo\r", 1)
        await stream(pilot, app.widget, "\nthree\n", 1)
        app.widget.finish()
        await settle(pilot, app.widget)
        assert [block.source for block in app.widget._blocks] == ["one\n", "two\nthree\n"]
        assert screen_text(app).splitlines()[:3] == ["one", "", "two three"]


def test_finished_message_snapshot(snap_compare: Any) -> None:
    assert snap_compare("snapshot_apps/finished_message.py", terminal_size=(80, 24))


async def test_a_long_last_block_is_rendered_once_when_its_backlog_is_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long message loaded whole is split in steps once mounted; its unfinished last
    block is not rendered at every step (that cost grew with the block, step after step)."""
    renders = count_renders(monkeypatch)
    one_list = "".join(f"- item {n} of one long list\n" for n in range(4_000))  # ~100 KB
    app = MarkdownApp(StreamingMarkdown(one_list, finished=True))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await settle(pilot, app.widget)
        assert len(app.widget._blocks) == 1
        assert "item 3999 of one long list" in app.widget._blocks[0].source
    assert sum(renders.values()) <= 2  # once a width (the scrollbar takes a column)


async def test_a_carriage_return_and_line_feed_split_across_a_step_are_one_line_break() -> None:
    app = MarkdownApp(StreamingMarkdown())
    async with app.run_test(size=SIZE) as pilot:
        widget = app.widget
        widget.append("word " * 1000 + "\r")  # longer than a step, with no line break
        widget.append("\nsecond\r\n")
        widget.finish()
        await settle(pilot, widget)
        assert widget.markdown == "word " * 1000 + "\nsecond\n"
