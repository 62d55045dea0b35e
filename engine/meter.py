"""How full the context window is, and what the conversation has cost.

``ContextMeter`` answers "how many tokens would the next request hold": the
provider's own count of the last request (input plus the answer, which joins
the context) plus an estimate of what was added since. The count is trusted
only while the context still starts the way it did when it was measured (the
message that ended the measured request is still at its place); a rewind, a
clear, a compaction or a regenerated answer falls back to an estimate of the
whole request (``engine.estimate``). The estimate of the messages is kept
too, so asking again (the status bar does, every frame of an answer) counts
only the messages added since, never the whole of a long conversation again.

``CostTally`` sums the known prices of the answers; an answer without a known
price makes the sum a lower bound (``partial``), never a guess.

``ContextReport`` is what ``/context`` shows: each part of the request with
its estimated tokens, against the model's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ikigai.engine.estimate import messages_tokens, request_tokens
from ikigai.providers.events import Usage
from ikigai.providers.request import Message, ToolSpec


class ContextMeter:
    """The tokens of the next request: measured by the provider where possible."""

    __slots__ = ("_anchor", "_counted", "_length", "_tokens")

    def __init__(self) -> None:
        self._length = 0
        self._anchor: Message | None = None
        self._tokens: int | None = None
        self._counted: tuple[int, Message | None, int] = (0, None, 0)
        """The estimate of the context's first messages: how many, the last of them, tokens."""

    def measured(self, context: Sequence[Message], usage: Usage) -> None:
        """A response to a request of ``context`` ended with ``usage``."""
        if usage.input_tokens <= 0:
            return
        self._length = len(context)
        self._anchor = context[-1] if context else None
        self._tokens = usage.input_tokens + usage.output_tokens

    def seed(self, context: Sequence[Message], anchor: Message | None, tokens: int) -> None:
        """A stored measurement: the request that ``anchor`` ended held ``tokens``.

        Used when a conversation is opened again, so the meter goes on from the
        provider's count of its last request rather than an estimate.
        """
        self.reset()
        if anchor is None:
            self._tokens = tokens
            return
        # From the end: the last answer's request is at most a few messages back.
        for position in range(len(context) - 1, -1, -1):
            if context[position] is anchor:
                self._length, self._anchor, self._tokens = position + 1, anchor, tokens
                return

    def reset(self) -> None:
        """Forget the measurement and the estimate (the context was replaced)."""
        self._tokens = None
        self._anchor = None
        self._length = 0
        self._counted = (0, None, 0)

    @property
    def is_measured(self) -> bool:
        """Whether the last count came from the provider (else it is all an estimate)."""
        return self._tokens is not None

    def tokens(
        self, context: Sequence[Message], system: str | None, tools: Sequence[ToolSpec]
    ) -> int:
        """The tokens a request of ``context`` (with ``system`` and ``tools``) would hold."""
        length, tokens = self._length, self._tokens
        valid = (
            tokens is not None
            and len(context) >= length
            and (length == 0 or context[length - 1] is self._anchor)
        )
        if not valid or tokens is None:
            self._tokens = None
            self._anchor = None
            self._length = 0
            return request_tokens(system, tools, ()) + self._estimate(context)
        # The measured answer itself (at ``length``) is counted in ``tokens``.
        return tokens + messages_tokens(context[length + 1 :])

    def _estimate(self, context: Sequence[Message]) -> int:
        """``messages_tokens(context)``, counting only what follows the messages counted
        last time when they are still its start (same place, same message: the context
        is only ever cut back, cleared, replaced or appended to, never edited)."""
        length, last, tokens = self._counted
        if len(context) < length or (length and context[length - 1] is not last):
            length, tokens = 0, 0
        end = len(context)
        tokens += messages_tokens(context[length:end])
        self._counted = (end, context[end - 1] if end else None, tokens)
        return tokens


@dataclass(slots=True)
class CostTally:
    """The summed known cost of a conversation's answers."""

    total: float | None = None
    partial: bool = False

    def add(self, cost: float | None, usage: Usage) -> None:
        """Count one answer: its cost, or (unknown but billed) the sum becomes partial."""
        if cost is not None:
            self.total = (self.total or 0.0) + cost
        elif usage.input_tokens or usage.output_tokens:
            self.partial = True


@dataclass(frozen=True, slots=True)
class ContextPart:
    """One part of the request, for ``/context``."""

    label: str
    tokens: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ContextReport:
    """What the next request holds, against the model's window."""

    model: str
    parts: tuple[ContextPart, ...]
    tokens: int
    measured: bool
    window: int | None
    limit: int | None
    """The input the window leaves after the room kept for the answer."""
    threshold: float
    auto_compact: bool
    cost_usd: float | None
    cost_partial: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fill(self) -> float | None:
        """How full the window is (of ``limit``), or ``None`` when the window is unknown."""
        return self.tokens / self.limit if self.limit else None
