"""Compaction: the model summarizes the conversation so far, and the summary replaces it.

What is summarized and what is kept is decided here, the same way for a live
conversation and for one rebuilt from storage (``split_index``): the last
``keep`` turns (a turn starts at a user prompt) stay verbatim and everything
before them is summarized. The summary becomes one user message at the start
of the context (``summary_message``); the system prompt and the project
instructions are never part of the messages, so they are kept as they are.

The summary request (``summary_request``) sends the part to summarize with a
closing instruction and no tool calls allowed (the tool definitions stay:
the history may refer to them). When that part alone is too big for the
model's window, long blocks are shortened and, if need be, the oldest turns
left out of the request (``fit_for_summary``): the originals stay stored
either way. ``run_summary`` streams it and raises ``CompactionFailed`` when
the provider fails, so the caller changes nothing.

``is_context_overflow`` recognises a provider's "the request does not fit the
context window" error (Anthropic ``prompt is too long`` and the
``model_context_window_exceeded`` stop, OpenAI ``context_length_exceeded`` and
"exceeds the context window", Gemini "input token count ... exceeds the
maximum", and the OpenAI-compatible servers' wordings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ikigai.engine.accumulator import ResponseAccumulator
from ikigai.engine.estimate import messages_tokens
from ikigai.providers.base import Provider
from ikigai.providers.events import Done, Error
from ikigai.providers.request import (
    ContentBlock,
    Message,
    Request,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
    ToolSpec,
)

SUMMARY_HEADER = (
    "[The earlier part of this conversation was compacted: this summary replaces it. "
    "The turns after it are verbatim.]\n\n"
)

SUMMARY_SYSTEM = (
    "You write handoff summaries of conversations between a user and an AI assistant "
    "that uses tools. Another model will continue the conversation from your summary "
    "alone, so it must hold everything needed to go on."
)

SUMMARY_INSTRUCTION = (
    "Summarize the conversation above so that it can continue without it. Include: the "
    "user's goals, requests and constraints; decisions made and why; facts learned "
    "(exact file paths, names, commands, error messages, values); work done and its "
    "results, including what tools returned that still matters; what is unfinished and "
    "the next steps. Keep exact identifiers and quote short code verbatim. Write the "
    "summary only, as plain Markdown, without calling tools."
)

SUMMARY_MAX_OUTPUT = 16_384
"""The longest summary asked for (lower when the model's own limit is lower)."""

_OVERFLOW = re.compile(
    r"prompt is too long|context[_ ]length|context[_ ]window|maximum context|"
    r"context size|input token count.*exceed|exceeds? the maximum number of tokens|"
    r"too many (?:input )?tokens|input (?:is )?too long|input length .*exceed",
    re.IGNORECASE | re.DOTALL,
)


class CompactionFailed(Exception):
    """The summary could not be made; the conversation is unchanged."""


@dataclass(frozen=True, slots=True)
class Compacted:
    """What a compaction did, for the screen and the stored row."""

    summary: str
    summarized: int
    """Context messages the summary replaces."""
    kept_turns: int
    tokens_before: int
    tokens_after: int
    auto: bool
    cost_usd: float | None = None
    reduced_from: int | None = None
    """The configured number of kept turns when fewer had to be kept to fit the window."""
    left_out: int = 0
    """Messages too big for the summary request (stored, but not in the summary)."""

    @classmethod
    def from_record(cls, summary: str, data: dict[str, Any]) -> Compacted:
        """The compaction a stored ``summary`` row records."""

        def number(key: str) -> int:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        kept, configured = number("kept_turns"), number("keep_turns")
        cost = data.get("cost_usd")
        return cls(
            summary=summary,
            summarized=number("summarized_messages"),
            kept_turns=kept,
            tokens_before=number("tokens_before"),
            tokens_after=number("tokens_after"),
            auto=bool(data.get("auto")),
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
            reduced_from=configured if configured > kept else None,
            left_out=number("left_out_messages"),
        )

    def describe(self) -> str:
        """One line for the user: what was summarized and what the context holds now."""
        how = "auto-compacted" if self.auto else "compacted"
        kept = f"the last {self.kept_turns} turn{'s' if self.kept_turns != 1 else ''} kept"
        if self.reduced_from is not None:
            kept += f" (not {self.reduced_from}: they did not fit the context window)"
        line = (
            f"{how}: {self.summarized} messages summarized, {kept} · context "
            f"~{self.tokens_before:,} → ~{self.tokens_after:,} tokens"
        )
        if self.left_out:
            line += f" · {self.left_out} oldest messages were too big to summarize"
        return line + " · the original messages stay stored"


def is_summary(message: Message) -> bool:
    """Whether ``message`` is a compaction summary (not a prompt of the user)."""
    if message.role != "user" or not message.content:
        return False
    first = message.content[0]
    return isinstance(first, TextBlock) and first.text.startswith(SUMMARY_HEADER)


def summary_message(summary: str) -> Message:
    """The context message a stored summary stands for."""
    return Message.user(SUMMARY_HEADER + summary.strip())


def prompt_positions(context: Sequence[Message]) -> list[int]:
    """Where the user's prompts are in ``context`` (summaries are not prompts)."""
    return [i for i, m in enumerate(context) if m.role == "user" and not is_summary(m)]


def split_index(context: Sequence[Message], keep: int) -> int:
    """Where the kept part of ``context`` starts when the last ``keep`` turns are kept."""
    positions = prompt_positions(context)
    if keep <= 0 or not positions:
        return len(context)
    return positions[-keep] if keep <= len(positions) else positions[0]


def compacted_context(context: Sequence[Message], summary: str, keep: int) -> list[Message]:
    """``context`` after a compaction that kept ``keep`` turns."""
    return [summary_message(summary), *context[split_index(context, keep) :]]


def is_context_overflow(error: Error) -> bool:
    """Whether a provider error says the request does not fit the model's context window."""
    if error.category in ("rate_limit", "auth", "not_found", "network", "timeout"):
        return False
    return bool(_OVERFLOW.search(error.message))


_WINDOW_STOPS = frozenset({"model_context_window_exceeded"})
"""Stop reasons (kept in ``provider_data``) saying the answer ended because the window was full."""


def stopped_by_window(done: Done | None) -> bool:
    """Whether an answer ended early because the context window filled up (Anthropic's
    ``model_context_window_exceeded`` stop: a complete response, cut short)."""
    if done is None:
        return False
    return done.provider_data.get("stop_reason") in _WINDOW_STOPS


def summary_request(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    instructions: str | None,
    max_output_tokens: int | None,
) -> Request:
    """The request asking ``model`` to summarize ``messages``."""
    instruction = SUMMARY_INSTRUCTION
    if instructions and instructions.strip():
        instruction += f"\n\nThe user adds these instructions for the summary:\n{instructions}"
    limit = SUMMARY_MAX_OUTPUT
    if max_output_tokens:
        limit = min(limit, max_output_tokens)
    return Request(
        model=model,
        messages=[*messages, Message.user(instruction)],
        system=SUMMARY_SYSTEM,
        tools=list(tools),
        thinking=None,
        max_output_tokens=limit,
        allow_tool_calls=False,
    )


_SHORTEN_STEPS = (8_000, 2_000, 400)
"""Characters a long block keeps (head and tail), tried in turn until the request fits."""


def _shorten_text(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    half = keep // 2
    return (
        f"{text[:half]}\n[… {len(text) - keep} characters left out of this summary "
        f"request …]\n{text[-half:]}"
    )


def _shorten_block(block: ContentBlock, keep: int) -> ContentBlock:
    if isinstance(block, TextBlock):
        return replace(block, text=_shorten_text(block.text, keep))
    if isinstance(block, ToolResultBlock):
        return replace(block, output=_shorten_text(block.output, keep))
    if isinstance(block, ToolCallBlock) and len(block.arguments) > keep:
        size = len(block.arguments)
        note = {"note": f"arguments left out of this summary request ({size} characters)"}
        return replace(block, arguments=json.dumps(note))
    return block


def _shortened(message: Message, keep: int) -> Message:
    blocks = [_shorten_block(block, keep) for block in _neutral(message).content]
    return Message(role=message.role, content=blocks)


def _neutral(message: Message) -> Message:
    """An assistant message as plain blocks, without the provider's own replay data.

    The summary is asked for without thinking, and some APIs refuse replayed
    reasoning (signed thinking, encrypted items) in a request that has none.
    """
    if message.role != "assistant":
        return message
    return Message(role="assistant", content=[b for b in message.content if b.kind != "thinking"])


def fit_for_summary(messages: Sequence[Message], budget: int | None) -> tuple[list[Message], int]:
    """``messages`` made to fit ``budget`` estimated tokens, and how many were left out.

    Long blocks are shortened first; then whole turns are left out from the
    start (a note says so). ``budget`` ``None`` means the window is unknown.
    """
    fitted = [_neutral(message) for message in messages]
    if budget is None or messages_tokens(fitted) <= budget:
        return fitted, 0
    for keep in _SHORTEN_STEPS:
        fitted = [_shortened(message, keep) for message in messages]
        if messages_tokens(fitted) <= budget:
            return fitted, 0
    left_out = 0
    while messages_tokens(fitted) > budget:
        starts = [i for i, m in enumerate(fitted) if m.role == "user" and i > 0]
        if not starts:
            break
        left_out += starts[0]
        fitted = fitted[starts[0] :]
    if left_out:
        note = Message.user(
            f"[{left_out} earlier messages are left out here: they did not fit the "
            "model's context window. They stay stored in the conversation.]"
        )
        fitted = [note, *fitted]
    return fitted, left_out


async def run_summary(
    provider: Provider, request: Request, base_data: dict[str, Any]
) -> ResponseAccumulator:
    """Stream the summary request; the accumulator of a complete, non-empty answer.

    Raises ``CompactionFailed`` (the provider's category and message) otherwise.
    """
    accumulator = ResponseAccumulator(provider.id, base_data)
    async for event in provider.stream(request):
        accumulator.add(event)
    error = accumulator.error
    if error is not None:
        status = f" (HTTP {error.http_status})" if error.http_status else ""
        raise CompactionFailed(f"{error.category}{status}: {error.message}")
    if accumulator.done is None:
        raise CompactionFailed("the summary stream ended without an answer")
    if not accumulator.text.strip():
        raise CompactionFailed("the model returned an empty summary")
    return accumulator
