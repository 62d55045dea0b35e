"""Hostile content through the real widgets: what reaches the terminal holds no control character.

Each test mounts the widget in a plain ``App`` (without the app-wide guard of
``tui.terminal_guard``, which has its own tests at the end), renders a full
frame as Textual's driver would write it, and checks that no control character
is left once Textual's own sequences are removed, and that the content is on
screen in its neutralized form (``\\x1b`` for ESC).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.color import Color
from textual.containers import VerticalScroll
from textual.filter import LineFilter
from textual.widget import Widget
from textual.widgets import OptionList, Static, TextArea

from ikigai.providers.request import ToolCallBlock
from ikigai.tui.screens.approval import ApprovalScreen
from ikigai.tui.screens.copy import CopyScreen
from ikigai.tui.terminal_guard import CONTROL_FILTER
from ikigai.tui.widgets.message_views import (
    AssistantMessage,
    ErrorBlock,
    Notice,
    ToolCallView,
    UserMessage,
    compact_arguments,
)
from ikigai.tui.widgets.status_bar import StatusBar, StatusInfo
from ikigai.tui.widgets.thinking import ThinkingView
from tests.widgets.painted import (
    HOSTILE,
    OSC52,
    VISIBLE_OSC52,
    foreign_controls,
    painted,
    visible_text,
)

SIZE = (200, 100)

CONSTRUCTS = {
    "heading": f"# Heading {HOSTILE}",
    "paragraph": f"Paragraph {HOSTILE}",
    "inline code": f"Inline `code {HOSTILE}`",
    "link": f"[link {HOSTILE}](https://example.com/{OSC52})",
    "list": f"- item {HOSTILE}",
    "quote": f"> quote {HOSTILE}",
    "table": f"| cell | other |\n|------|-------|\n| {HOSTILE} | x |",
    "python code": f'```python\nprint("{HOSTILE}")\n```',
    "plain code": f"```\nplain {HOSTILE}\n```",
}
HOSTILE_MARKDOWN = "\n\n".join(CONSTRUCTS.values()) + "\n"


class Host(App[None]):
    """The widgets under test in a scroll, as in the scrollback."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield from self.widgets


async def frame(app: App[Any], pilot: Any) -> str:
    await pilot.pause(0.1)
    return painted(app)


def assert_clean(output: str, *, shown: int) -> None:
    """No control character from content; ``OSC52`` visible ``shown`` times."""
    assert foreign_controls(output) == []
    assert visible_text(output).count(VISIBLE_OSC52) == shown


async def test_a_finished_answer_shows_controls_in_every_markdown_construct() -> None:
    answer = AssistantMessage(HOSTILE_MARKDOWN, finished=True)
    app = Host(answer)
    async with app.run_test(size=SIZE) as pilot:
        output = await frame(app, pilot)
    # Every construct shows it once; the link's target is only in the OSC 8 sequence.
    assert_clean(output, shown=len(CONSTRUCTS))
    assert "\\x9b2JC1MARK\\x9d0;c1title\\x9c\\x85" in visible_text(output)
    # What is copied is what the model sent (code blocks as CommonMark reads them: NUL as U+FFFD).
    assert answer.copy_text == HOSTILE_MARKDOWN
    code = HOSTILE.replace("\x00", "\ufffd")
    assert answer.code_blocks == [f'print("{code}")\n', f"plain {code}\n"]


async def test_a_link_target_with_controls_is_shown_neutralized_after_its_text() -> None:
    app = Host(AssistantMessage(CONSTRUCTS["link"], finished=True))
    async with app.run_test(size=(200, SIZE[1])) as pilot:
        output = await frame(app, pilot)
    assert foreign_controls(output) == []
    assert "\x1b]8;" not in output  # the target is text, not a terminal hyperlink
    text = re.sub(r"\x1b\[[0-9;:?]*[A-Za-z]", "", output)
    # The target follows the link text in parentheses, neutralized and percent-encoded.
    assert "(https://example.com/%5Cx1b%5D52;c;SEVMTE8=%5Cx07)" in text


async def test_a_streaming_answer_with_sequences_split_across_deltas() -> None:
    answer = AssistantMessage()
    app = Host(answer)
    async with app.run_test(size=SIZE) as pilot:
        for start in range(0, len(HOSTILE_MARKDOWN), 5):
            answer.append(HOSTILE_MARKDOWN[start : start + 5])
            if start % 40 == 0:
                await pilot.pause(0.05)
                assert foreign_controls(painted(app)) == []
        streaming = await frame(app, pilot)
        answer.finish()
        finished = await frame(app, pilot)
    assert foreign_controls(streaming) == []
    assert_clean(finished, shown=len(CONSTRUCTS))


async def test_thinking_is_shown_neutralized_and_cr_breaks_lines() -> None:
    view = ThinkingView()
    app = Host(view)
    text = f"reasoning {HOSTILE}\r\nsecond line\rthird line\r"
    async with app.run_test(size=SIZE) as pilot:
        for start in range(0, len(text), 3):
            view.append(text[start : start + 3])
            await pilot.pause(0.01)
        view.finish()
        output = await frame(app, pilot)
    assert_clean(output, shown=1)
    lines = [line.strip() for line in visible_text(output).splitlines()]
    assert "second line" in lines and "third line" in lines
    assert view.text == f"reasoning {HOSTILE}\nsecond line\nthird line\n"


async def test_tool_header_arguments_and_output_are_neutralized() -> None:
    # JSON escapes decode to real controls; U+009B is sent raw (JSON allows it).
    arguments = '{"path": "evil\\u001b]52;c;SEVMTE8=\\u0007", "mode\\u001b[2J": "\x9b2J"}'
    view = ToolCallView("call_1", "file_read", arguments)
    app = Host(view)
    file_contents = "\n".join(f"{n:>6}\t{HOSTILE}" for n in range(1, 4))
    async with app.run_test(size=SIZE) as pilot:
        view.set_result(True, file_contents)
        output = await frame(app, pilot)
    assert foreign_controls(output) == []
    shown = visible_text(output)
    assert "path=evil\\x1b]52;c;SEVMTE8=\\x07 mode\\x1b[2J=\\x9b2J" in shown
    assert shown.count(VISIBLE_OSC52) == 1 + 3
    assert view.output == file_contents


def test_compact_arguments_neutralizes_keys_values_and_unparsed_text() -> None:
    assert compact_arguments('{"a\\u001b": "b\\u009b"}') == "a\\x1b=b\\x9b"
    assert compact_arguments("not json \x1b[2J") == "not json \\x1b[2J"
    # A long value is cut after neutralizing, so the width is what is shown.
    assert compact_arguments('{"k": "' + "\\u001b" * 30 + '"}') == "k=" + "\\x1b" * 9 + "\\x1…"


async def test_notes_errors_prompts_and_the_status_bar_are_neutralized() -> None:
    status = StatusBar()
    widgets = [
        UserMessage(f"prompt {HOSTILE}"),
        Notice(f"note {HOSTILE}", warning=True),
        ErrorBlock("server", f"provider said {HOSTILE}", "Try again."),
        status,
    ]
    app = Host(*widgets)
    async with app.run_test(size=SIZE) as pilot:
        status.info = StatusInfo(
            profile="default",
            model=f"model{OSC52}",
            thinking=None,
            last_tokens=(1, 2),
            total_tokens=3,
            conversation=1,
        )
        output = await frame(app, pilot)
    assert_clean(output, shown=4)
    assert widgets[0].copy_text == f"prompt {HOSTILE}"
    assert widgets[1].copy_text == f"note {HOSTILE}"


async def test_the_approval_screen_shows_arguments_neutralized() -> None:
    # Parsed arguments are shown as JSON, which escapes C0 itself but not DEL or C1.
    arguments = '{"command": "echo \\u001b]52;c;SEVMTE8=\\u0007 \x9b2J\x7f"}'
    call = ToolCallBlock("call_1", f"bash{OSC52}", arguments)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ApprovalScreen(call))
        output = await frame(app, pilot)
        assert isinstance(app.screen, ApprovalScreen)
    assert_clean(output, shown=1)
    assert '"command": "echo \\u001b]52;c;SEVMTE8=\\u0007 \\x9b2J\\x7f"' in visible_text(output)


async def test_the_approval_screen_shows_unparsed_arguments_neutralized() -> None:
    call = ToolCallBlock("call_1", "bash", f"not json {HOSTILE}")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ApprovalScreen(call))
        output = await frame(app, pilot)
    assert_clean(output, shown=1)


async def test_the_copy_screen_lists_items_neutralized() -> None:
    messages: Sequence[Widget] = [
        UserMessage(f"copy me {HOSTILE}"),
        AssistantMessage(f"```\n{HOSTILE}\n```\n", finished=True),
    ]
    app = Host(*messages)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(CopyScreen(list(messages)))
        output = await frame(app, pilot)
        assert isinstance(app.screen, CopyScreen)
        # The choices keep the raw text: copying gives what was received.
        code = HOSTILE.replace("\x00", "\ufffd")
        assert app.screen.choices[0] == ("code block 1 of an answer", f"{code}\n")
    assert foreign_controls(output) == []
    # Under the modal the scrollback shows both messages; the list shows three items.
    assert visible_text(output).count(VISIBLE_OSC52) >= 3


async def test_content_is_never_read_as_markup() -> None:
    # Textual's markup parser raised on "[a=\\b" even after rich.markup.escape.
    tricky = "x[2J=\\x9b [b]not bold[/b] [link=\\evil] $name \\"
    view = ToolCallView("call_1", tricky, "{}")
    widgets = [Notice(tricky), UserMessage(tricky), ErrorBlock(tricky, tricky, tricky), view]
    app = Host(*widgets)
    async with app.run_test(size=SIZE) as pilot:
        view.set_result(False, tricky)
        output = await frame(app, pilot)
    # Notice, prompt, the error's three parts, the tool's name and its output (the
    # argument is longer than the one-line summary shows).
    assert visible_text(output).count(tricky) == 7


# -- the app-wide guard ----------------------------------------------------------------------


class Guarded(Host):
    """A host with the guard installed the way ``IkigaiApp`` installs it."""

    CSS = "TextArea { height: 6; } OptionList { height: 4; }"

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), CONTROL_FILTER]


def third_party_widgets() -> list[Widget]:
    """Widgets ikigai does not control, given raw controls (a paste, a list item)."""
    return [TextArea(f"pasted {HOSTILE}"), OptionList(f"option {HOSTILE}"), Static(Text(HOSTILE))]


class Unguarded(Guarded):
    def get_line_filters(self) -> Sequence[LineFilter]:
        return App.get_line_filters(self)


async def test_without_the_guard_raw_widgets_would_reach_the_terminal() -> None:
    app = Unguarded(*third_party_widgets())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify(f"toast {HOSTILE}")
        output = await frame(app, pilot)
    # The text area, the option, the Static and the toast: four raw clipboard writes
    # (Textual strips the BEL; the ST of the OSC 0 that follows ends them instead).
    assert output.count("\x1b]52;c;SEVMTE8=") == 4
    assert "\x9b" in foreign_controls(output)


async def test_the_guard_removes_controls_from_any_widget_and_toast() -> None:
    app = Guarded(*third_party_widgets())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify(f"toast {HOSTILE}")
        output = await frame(app, pilot)
    assert foreign_controls(output) == []
    shown = visible_text(output)
    for label in ("pasted ", "option ", "", "toast "):
        assert f"{label}]52;c;SEVMTE8= ]0;pwned\\ [2JWIPED 2JC1MARK0;c1title" in shown


def test_the_guard_keeps_clean_lines_and_widths() -> None:
    clean = [Segment("plain ", Style(bold=True)), Segment("é ␛ text")]
    assert CONTROL_FILTER.apply(clean, Color(0, 0, 0)) is clean
    dirty = [
        Segment("a\x1b[2Jb\tc", Style(bold=True)),
        Segment("\x1b[2J", None, [(1,)]),  # a control segment: dropped whole
        Segment("link", Style(link="https://x/\x1b]52;c;AAAA\x07")),
        Segment("\x9b"),
    ]
    cleaned = CONTROL_FILTER.apply(dirty, Color(0, 0, 0))
    assert [segment.text for segment in cleaned] == ["a[2Jbc", "link"]
    assert cleaned[0].style == Style(bold=True)
    assert cleaned[1].style is not None and cleaned[1].style.link is None
    assert Segment.get_line_length(cleaned) == Segment.get_line_length(dirty)
