"""The status bar: profile, provider/model, thinking level, token counts, conversation.

The app holds one ``StatusInfo`` in a reactive and binds it to the bar
(``data_bind``); the bar's ``render`` reads it at the bar's width, so the app
never formats the line and a resize re-renders it by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ikigai.tui.widgets.safe_content import plain


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """What the status bar shows."""

    profile: str = ""
    model: str = ""
    thinking: str | None = None
    last_tokens: tuple[int, int] = (0, 0)
    total_tokens: int = 0
    conversation: int | None = None
    """The stored conversation's id; ``None`` while nothing is stored."""
    warning: str = ""
    """Shown in reverse at the end (a missing key, storage trouble)."""


class StatusBar(Widget):
    """One line at the top.

    When the full line does not fit (80 columns and a long model name), the
    labels get shorter and the separators thinner, so nothing falls off the end.
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
    }
    """

    info: reactive[StatusInfo] = reactive(StatusInfo, layout=False)

    def render(self) -> Content:
        shown = self.info
        tokens_in, tokens_out = shown.last_tokens
        full = [
            shown.profile,
            shown.model,
            f"thinking {shown.thinking or 'off'}",
            f"last {tokens_in}↑ {tokens_out}↓",
            f"conv {shown.total_tokens} tok",
            _number(shown.conversation),
        ]
        short = [
            shown.profile,
            shown.model,
            shown.thinking or "no think",
            f"{tokens_in}↑{tokens_out}↓",
            f"Σ{shown.total_tokens}",
            _number(shown.conversation),
        ]
        width = self.content_size.width
        parts, separator = full, " │ "
        if width and len(separator.join(full)) > width:
            parts, separator = short, "│"
        first, *rest = (plain(part) for part in parts)
        line = Content(separator).join([first.stylize("bold"), *rest])
        if shown.warning:
            line = Content.assemble(line, separator, plain(f" {shown.warning} ").stylize("reverse"))
        return line


def _number(conversation: int | None) -> str:
    """``#12``, or ``new`` for a conversation with nothing stored yet."""
    return f"#{conversation}" if conversation is not None else "new"
