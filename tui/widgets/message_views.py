"""The blocks the scrollback is made of: user prompt, assistant answer, error, notice, tool.

Each kind has its own widget class (and CSS class) so they are visually
distinct and can be copied one by one. An assistant answer grows by
``feed`` (once a frame, from the app's frame clock) or ``append`` while it
streams and is frozen by ``finish``; a finished message never re-renders its
Markdown again.

Content is shown through ``tui.widgets.safe_content`` (Markdown through
``StreamingMarkdown``'s own neutralizing): control characters are shown as
``\\xNN`` and never reach the terminal, and no content is parsed as markup.
``copy_text`` stays as received.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import Static

from ikigai.engine.textsafety import neutralize_display
from ikigai.tui.widgets.growing import resize_keeping_lines
from ikigai.tui.widgets.safe_content import plain, styled
from ikigai.tui.widgets.tall_children import TallChildren

if TYPE_CHECKING:
    from ikigai.providers.events import Error
    from ikigai.tui.widgets.rows import RowHandle


class UserMessage(Static):
    """The user's prompt, shown as typed."""

    DEFAULT_CLASSES = "message user"
    row: RowHandle | None = None
    """The stored prompt this shows (see ``tui.widgets.rows``)."""

    def __init__(self, text: str) -> None:
        super().__init__(plain(text))
        self.text = text

    @property
    def copy_text(self) -> str:
        """What ``copy`` puts on the clipboard."""
        return self.text


class AssistantMessage(Vertical, TallChildren):
    """An answer: Markdown that grows while streaming, then frozen.

    ``status`` is ``streaming``, ``complete``, ``interrupted`` or ``error``; the
    label under an interrupted answer says so.
    """

    DEFAULT_CLASSES = "message assistant"
    row: RowHandle | None = None
    """The stored answer this shows."""

    def __init__(self, markdown: str = "", *, finished: bool = False, status: str = "") -> None:
        super().__init__()
        self._initial = markdown
        self._finished = finished
        self.status = status or ("complete" if finished else "streaming")
        from ikigai.tui.widgets.markdown_stream import StreamingMarkdown  # after the first frame

        self.body = StreamingMarkdown(markdown, finished=finished)
        self.body.add_class("answer")

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """A growing answer keeps its painted lines (``resize_keeping_lines``)."""
        return resize_keeping_lines(self, size, virtual_size, container_size)

    def compose(self) -> ComposeResult:
        yield self.body
        if self.status == "interrupted":
            yield Static("⏹ interrupted", classes="interrupted-label")

    def append(self, text: str) -> None:
        """Append streamed answer text (rendered soon, coalesced by the widget)."""
        self.body.append(text)

    def feed(self, text: str) -> None:
        """Append streamed answer text and render it now (the caller paces the frames)."""
        self.body.feed(text)

    def finish(self, status: str = "complete") -> None:
        """Freeze the answer; an ``interrupted`` one gets a label."""
        if self.status != "streaming":
            return
        self.status = status
        self.body.finish()
        if status == "interrupted" and self.is_mounted:
            self.mount(Static("⏹ interrupted", classes="interrupted-label"))

    @property
    def copy_text(self) -> str:
        """The answer's Markdown source."""
        return str(self.body.markdown)

    @property
    def code_blocks(self) -> list[str]:
        """The answer's fenced code blocks."""
        return list(self.body.code_blocks)


ERROR_ADVICE: dict[str, str] = {
    "auth": "Check the API key: set {keys} to a valid key.",
    "rate_limit": "Rate limited by the provider. {retry}",
    "network": "Could not reach the provider. Check the network and the base_url ({base_url}).",
    "timeout": "The provider stopped answering. Try again; raise [providers.{provider}] "
    "timeout if it keeps happening.",
    "server": "The provider had a server error. Try again in a moment (/retry).",
    "invalid_arg": "The provider rejected the request. Check the model name and settings.",
    "not_found": "The provider does not know this model or endpoint. Check /model and base_url.",
    "content_filter": "The provider's content filter stopped the answer.",
    "unknown": "Something unexpected happened. /retry to try again.",
}


def error_advice(error: Error, *, keys: tuple[str, ...], base_url: str, provider: str) -> str:
    """What to do about ``error``, in one sentence."""
    from ikigai.engine.compaction import is_context_overflow

    if is_context_overflow(error):
        return (
            "The conversation no longer fits the model's context window: /compact "
            "summarizes it (the messages stay stored), then /retry."
        )
    if error.retry_after_ms:
        retry = f"Retry after {error.retry_after_ms / 1000:.0f} s (/retry)."
    else:
        retry = "Wait a moment, then /retry."
    return ERROR_ADVICE.get(error.category, ERROR_ADVICE["unknown"]).format(
        keys=" or ".join(keys) or "the provider's key variable",
        retry=retry,
        base_url=base_url,
        provider=provider,
    )


class ErrorBlock(Static):
    """A failed request: the category, the provider's message and what to do."""

    DEFAULT_CLASSES = "message error"
    row: RowHandle | None = None
    """The stored (failed) answer this shows."""

    def __init__(self, category: str, message: str, advice: str) -> None:
        super().__init__(
            styled(
                "[b]✗ $category error[/b]: $message\n$advice",
                category=category,
                message=message,
                advice=advice,
            )
        )
        self.category = category
        self.copy_text = f"{category} error: {message}\n{advice}"


class Notice(Static):
    """A one-line note: command output, a refused send, a switch of model."""

    DEFAULT_CLASSES = "message notice"

    def __init__(self, text: str, *, warning: bool = False) -> None:
        super().__init__(plain(text))
        self.copy_text = text
        if warning:
            self.add_class("warning")


def _one_line(text: str) -> str:
    """``text`` with runs of whitespace as one space and other controls as ``\\xNN``."""
    return neutralize_display(" ".join(text.split()))


def compact_arguments(arguments: str, width: int = 100) -> str:
    """Tool arguments on one line: ``key=value`` pairs, long values shortened.

    Control characters (decoded from JSON ``\\u001b`` escapes too) are shown as ``\\xNN``.
    """
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        value = arguments
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            shown = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
            shown = _one_line(str(shown))
            if len(shown) > 40:
                shown = shown[:39] + "…"
            parts.append(f"{_one_line(str(key))}={shown}")
        text = " ".join(parts)
    else:
        text = _one_line(str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


class ToolCallView(Vertical):
    """One tool call: ``tool name`` + compact arguments, then its result.

    The result shows its first lines; clicking it (or Enter while focused)
    expands it to the whole output. Failed results use the error style.
    """

    DEFAULT_CLASSES = "message tool"
    PREVIEW_LINES = 6
    row: RowHandle | None = None
    """The stored answer that made this call."""
    can_focus = True
    BINDINGS: ClassVar[list[BindingType]] = [("enter", "toggle_output", "Expand")]

    def __init__(self, call_id: str, name: str, arguments: str) -> None:
        super().__init__()
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self.output: str | None = None
        self.ok = True
        self.expanded = False
        self._result = Static("", classes="tool-result")
        self._result.display = False

    def compose(self) -> ComposeResult:
        yield Static(
            styled(
                "[b]⚙ $name[/b] $arguments",
                name=self.tool_name,
                arguments=compact_arguments(self.arguments),
            ),
            classes="tool-header",
        )
        yield self._result

    def on_mount(self) -> None:
        self._render_result()

    def set_result(self, ok: bool, output: str) -> None:
        """Show the tool's result below the call."""
        self.ok = ok
        self.output = output
        self.set_class(not ok, "failed")
        self._render_result()

    def _render_result(self) -> None:
        if self.output is None:
            return
        lines = neutralize_display(self.output).splitlines() or [""]
        if self.expanded or len(lines) <= self.PREVIEW_LINES:
            shown = "\n".join(lines)
        else:
            hidden = len(lines) - self.PREVIEW_LINES
            shown = "\n".join(lines[: self.PREVIEW_LINES]) + f"\n… {hidden} more lines (Enter)"
        self._result.update(plain(shown))
        self._result.display = True

    def action_toggle_output(self) -> None:
        """Expand or collapse the result."""
        self.expanded = not self.expanded
        self._render_result()

    def on_click(self) -> None:
        self.action_toggle_output()

    @property
    def copy_text(self) -> str:
        """The call and its output."""
        return f"{self.tool_name} {self.arguments}\n{self.output or ''}"
