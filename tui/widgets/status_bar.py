"""The status bar: profile, provider/model, thinking level, token counts."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class StatusBar(Static):
    """One line at the top; the app calls ``show`` when something changes."""

    def show(
        self,
        *,
        profile: str,
        model: str,
        thinking: str | None,
        last_tokens: tuple[int, int],
        total_tokens: int,
        conversation: int,
        warning: str = "",
    ) -> None:
        """Render the line from plain values."""
        tokens_in, tokens_out = last_tokens
        parts = [
            f"[b]{escape(profile)}[/b]",
            escape(model),
            f"thinking {escape(thinking or 'off')}",
            f"last {tokens_in}↑ {tokens_out}↓",
            f"conv {total_tokens} tok",
            f"#{conversation}",
        ]
        line = " │ ".join(parts)
        if warning:
            line += f" │ [reverse] {escape(warning)} [/reverse]"
        self.update(line)
