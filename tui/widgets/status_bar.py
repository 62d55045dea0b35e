"""The status bar: profile, provider/model, thinking level, token counts."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.widgets import Static

from ikigai.tui.widgets.safe_content import plain


@dataclass(frozen=True, slots=True)
class _Shown:
    profile: str
    model: str
    thinking: str | None
    last_tokens: tuple[int, int]
    total_tokens: int
    conversation: int | None
    warning: str


class StatusBar(Static):
    """One line at the top; the app calls ``show`` when something changes.

    When the full line does not fit (80 columns and a long model name), the
    labels get shorter and the separators thinner, so nothing falls off the end.
    """

    _shown: _Shown | None = None

    def show(
        self,
        *,
        profile: str,
        model: str,
        thinking: str | None,
        last_tokens: tuple[int, int],
        total_tokens: int,
        conversation: int | None,
        warning: str = "",
    ) -> None:
        """Render the line from plain values."""
        self._shown = _Shown(
            profile, model, thinking, last_tokens, total_tokens, conversation, warning
        )
        self._render_line()

    def on_resize(self, event: events.Resize) -> None:
        self._render_line()

    def _render_line(self) -> None:
        shown = self._shown
        if shown is None:
            return
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
        self.update(line)


def _number(conversation: int | None) -> str:
    """``#12``, or ``new`` for a conversation with nothing stored yet."""
    return f"#{conversation}" if conversation is not None else "new"
