"""The status bar: profile, provider/model, thinking level, token counts, context, cost.

The app holds one ``StatusInfo`` in a reactive and binds it to the bar
(``data_bind``); the bar's ``render`` reads it at the bar's width, so the app
never formats the line and a resize re-renders it by itself. The context
meter (``ctx 41% · $0.0123``) shows only what is known: no percentage for a
model whose window is unknown, no cost for one without prices; it turns to the
theme's warning colour past the compaction threshold.
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
    context_fill: float | None = None
    """How full the model's context window is (``None``: the window is unknown)."""
    cost_usd: float | None = None
    """The conversation's known cost (``None``: no price known)."""
    cost_partial: bool = False
    """Some answer had no known price: the cost is a lower bound."""
    context_warning: bool = False
    """The context is past the compaction threshold."""


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
            _meter(shown, compact=False),
            _number(shown.conversation),
        ]
        short = [
            shown.profile,
            shown.model,
            shown.thinking or "no think",
            f"{tokens_in}↑{tokens_out}↓",
            f"Σ{shown.total_tokens}",
            _meter(shown, compact=True),
            _number(shown.conversation),
        ]
        width = self.content_size.width
        chosen, separator = full, " │ "
        if width and len(separator.join(p for p in full if p)) > width:
            chosen, separator = short, "│"
        pieces = [plain(part) for part in chosen]
        if shown.context_warning:
            pieces[_METER] = pieces[_METER].stylize("bold $warning")
        first, *rest = (piece for piece, part in zip(pieces, chosen, strict=True) if part)
        line = Content(separator).join([first.stylize("bold"), *rest])
        if shown.warning:
            line = Content.assemble(line, separator, plain(f" {shown.warning} ").stylize("reverse"))
        return line


_METER = 5
"""Where the context meter sits in the bar's parts."""


def _meter(shown: StatusInfo, *, compact: bool) -> str:
    """``ctx 41% · $0.0123`` (shorter when the line is tight), or ``""`` when nothing is known."""
    pieces: list[str] = []
    if shown.context_fill is not None:
        percent = round(100 * shown.context_fill)
        pieces.append(f"{percent}%" if compact else f"ctx {percent}%")
    if shown.cost_usd is not None:
        mark = "≥" if shown.cost_partial else ""
        pieces.append(f"{mark}${shown.cost_usd:.2f}" if compact else f"{mark}${shown.cost_usd:.4f}")
    return ("·" if compact else " · ").join(pieces)


def _number(conversation: int | None) -> str:
    """``#12``, or ``new`` for a conversation with nothing stored yet."""
    return f"#{conversation}" if conversation is not None else "new"
