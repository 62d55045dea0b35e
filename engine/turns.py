"""One turn: a prompt, then model responses and tool rounds until the model is done.

``Turn`` is what ``Conversation.send`` returns: iterate it (``async for event
in turn``) to run it. Each model response is accumulated once into a
``ResponseAccumulator`` (``turn.accumulator``), which the next request's
context, storage and the screen all read. The loop ends when a response asks
for no tools; the last response ``max_turns`` allows is requested with tool
calls disabled, so the model answers with what it has.

A response the provider *paused* (Anthropic ``pause_turn``: a server-side
tool loop hit its limit) is sent back as it is and the model goes on: the
next request carries the paused content as the last assistant message, with
no new prompt. Each continuation is a model response (it counts against
``max_turns``), and at most ``max_pauses`` follow one another before the turn
stops with a note. A response that fails before any content with a
rate-limit, server or timeout error is asked of the profile's fallback models
in order (``engine.fallback``); once one answered, the rest of the turn starts
with it.

Recording goes through ``TurnRecording`` callbacks that must not block: the
conversation hands them to the background storage writer, so the stream
never waits on the disk. ``turn.rows`` holds what the recording returned for
each stored piece (the prompt under 0, then each response), so a front end can
tell which stored message a piece on screen is; a conversation that reports
stored ids (headless JSONL) also yields ``Stored`` events, from ``reported``.

Cancelling the task that iterates the turn (or closing the iterator) ends it
as ``interrupted``: the partial answer is kept in storage, not in the model's
context.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ikigai.engine.accumulator import ResponseAccumulator
from ikigai.engine.events import (
    Fallback,
    RunnerEvent,
    ToolResultEvent,
    ToolRun,
    TurnNote,
    UserPrompt,
)
from ikigai.engine.fallback import Candidate, FallbackStream, close
from ikigai.providers.base import Provider
from ikigai.providers.events import Done, Error
from ikigai.providers.request import Message, Request, ThinkingLevel, ToolResultBlock, ToolSpec

MAX_PAUSES = 8
"""Paused responses continued one after another before a turn stops with a note."""

TurnStatus = Literal["complete", "error", "interrupted", "max_turns"]


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """How a turn ended, after how many model responses, and the error if it failed."""

    status: TurnStatus
    responses: int
    error: Error | None = None


class ToolRunner(Protocol):
    """Runs the tool calls of one response and returns their results."""

    async def prepare(self) -> None:
        """Called once the prompt is shown, before the first request (starts MCP servers)."""
        ...

    async def run_calls(self, message: Message) -> list[ToolResultEvent]: ...

    def specs(self) -> list[ToolSpec]: ...


class TurnRecording(Protocol):
    """Where a turn's pieces are stored; every method but ``reported`` returns at once.

    ``response_started`` returns a handle of the response's stored row (or
    ``None``); ``reported`` returns the events announcing rows stored since it
    was last called, waiting for them only when the conversation reports them.
    """

    def response_started(self, accumulator: ResponseAccumulator) -> object | None: ...

    def response_ended(self, accumulator: ResponseAccumulator) -> None: ...

    def tool_result(self, result: ToolResultEvent) -> None: ...

    def interrupted_before_answer(self) -> None: ...

    async def reported(self) -> list[RunnerEvent]: ...


@dataclass(slots=True)
class TurnSetup:
    """What every request of a turn carries, and where the turn's pieces go."""

    provider: Provider
    model: str
    context: list[Message]
    recording: TurnRecording
    tools: ToolRunner | None = None
    system: str | None = None
    thinking: ThinkingLevel | None = None
    max_output_tokens: int | None = None
    max_turns: int = 50
    base_data: dict[str, object] = field(default_factory=dict)
    prompt_row: object | None = None
    """The stored prompt's handle (``None`` when the turn adds no prompt)."""
    opening: tuple[RunnerEvent, ...] = ()
    """Events yielded before anything else (a ``Branched`` for a new version)."""
    fallbacks: list[Candidate] = field(default_factory=list)
    """Models to try, in order, when the one before failed before answering."""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_pauses: int = MAX_PAUSES


class Turn:
    """One prompt being answered. Iterate it once to run it; ``outcome`` says how it ended."""

    def __init__(
        self,
        prompt: str,
        setup: Callable[[Turn], Awaitable[TurnSetup]],
        *,
        on_end: Callable[[Turn], None] | None = None,
        announce: bool = True,
    ) -> None:
        """``announce``: yield ``UserPrompt`` (False for a new answer to a stored prompt)."""
        self.prompt = prompt
        self.response_number = 0
        """0 before the first response, then 1, 2, ... for each model response."""
        self.accumulator: ResponseAccumulator | None = None
        """The response streaming now (or the last one)."""
        self.outcome: TurnOutcome | None = None
        self.rows: dict[int, object | None] = {}
        """The stored row of the prompt (0) and of each response (1, 2, ...), as recorded."""
        self.row: object | None = None
        """The stored row of the piece being yielded now (``rows[response_number]``)."""
        self._announce = announce
        self._setup = setup
        self._on_end = on_end
        self._task: asyncio.Task[object] | None = None
        self._events = self._run()

    def __aiter__(self) -> AsyncIterator[RunnerEvent]:
        return self._events

    @property
    def running(self) -> bool:
        """Whether the turn started and has not ended yet."""
        return self._task is not None and self.outcome is None

    def cancel(self) -> None:
        """Stop the turn: the task iterating it is cancelled (what arrived is kept).

        A turn that never started (its task was cancelled before the first step)
        ends here and now: nothing was sent, and the conversation is free again.
        """
        if self.outcome is not None:
            return
        if self._task is not None:
            self._task.cancel()
            return
        self.outcome = TurnOutcome("interrupted", 0)
        if self._on_end is not None:
            self._on_end(self)

    async def aclose(self) -> None:
        """End the turn early from the consumer's side (same as a cancel, without one)."""
        await self._events.aclose()

    async def _run(self) -> AsyncGenerator[RunnerEvent]:
        if self.outcome is not None:  # cancelled before it started
            return
        self._task = asyncio.current_task()
        setup: TurnSetup | None = None
        responses = 0
        accumulator: ResponseAccumulator | None = None
        try:
            setup = await self._setup(self)
            self.row = self.rows[0] = setup.prompt_row
            for opening in setup.opening:
                yield opening
            if self._announce:
                yield UserPrompt(self.prompt)
            if setup.tools is not None:
                await setup.tools.prepare()
            recording = setup.recording
            for stored in await recording.reported():
                yield stored
            candidates = [Candidate(setup.provider, setup.provider.id, setup.model)]
            candidates.extend(setup.fallbacks)
            first = 0  # the candidate the next request starts with
            skipped_before: list[dict[str, object]] = []  # why it is not the first one
            pauses = 0
            while True:
                responses += 1
                self.response_number = responses
                last = responses >= setup.max_turns
                base = dict(setup.base_data)
                if first:
                    base.update(_answered_by(candidates[first]))
                    base["fallback"] = skipped_before
                if pauses:
                    base["continues"] = "pause_turn"
                accumulator = ResponseAccumulator(candidates[first].provider_id, base)
                self.accumulator = accumulator
                self.row = self.rows[responses] = recording.response_started(accumulator)
                for stored in await recording.reported():
                    yield stored
                add = accumulator.add
                allow_calls = not last

                def request_for(candidate: Candidate, allow: bool = allow_calls) -> Request:
                    return _request(setup, candidate, allow)

                chain = FallbackStream(candidates, request_for, first)
                events = chain.events()
                try:
                    async for event in events:
                        if type(event) is Fallback:
                            _switch(accumulator, candidates[chain.answered + 1], chain)
                        else:
                            add(event)  # type: ignore[arg-type]
                        yield event
                finally:
                    await close(events)  # a turn closed or cancelled mid-answer ends the request
                if chain.answered != first:
                    first = chain.answered
                    skipped_before = [skipped.as_data() for skipped in chain.skipped]
                recording.response_ended(accumulator)
                if accumulator.error is not None:
                    self.outcome = TurnOutcome("error", responses, accumulator.error)
                    return
                message = accumulator.message()
                setup.context.append(message)
                done = accumulator.done
                accumulator = None
                for note in _notes(done):
                    yield note
                calls = message.tool_calls()
                if done is not None and done.paused and not calls:
                    if last:
                        self.outcome = TurnOutcome("max_turns", responses)
                        return
                    pauses += 1
                    if pauses > setup.max_pauses:
                        yield TurnNote(
                            f"the model paused its work {pauses} times in a row; ikigai "
                            "stopped continuing it (send a prompt to go on)",
                            "warning",
                        )
                        self.outcome = TurnOutcome("complete", responses)
                        return
                    continue  # send the paused content back: the model goes on
                pauses = 0
                if calls and (setup.tools is None or last):
                    # The calls are not run (no tools here, or max_turns reached): the
                    # next request must still answer each of them.
                    why = "Not run: the turn reached its limit of model responses."
                    if setup.tools is None:
                        why = "Not run: no tools are available in this conversation."
                    setup.context.append(_unanswered_results(message, why))
                if not calls or setup.tools is None:
                    self.outcome = TurnOutcome("complete", responses)
                    return
                if last:
                    self.outcome = TurnOutcome("max_turns", responses)
                    return
                for call in calls:
                    yield ToolRun(call.id, call.name, call.arguments)
                try:
                    results = await setup.tools.run_calls(message)
                except (asyncio.CancelledError, GeneratorExit):
                    # The model's next request must answer every call it made.
                    setup.context.append(_interrupted_results(message))
                    raise
                for result in results:
                    recording.tool_result(result)
                    yield result
                for stored in await recording.reported():
                    yield stored
                setup.context.append(
                    Message(
                        role="tool",
                        content=[
                            ToolResultBlock(
                                r.id, r.name, r.output, is_error=not r.ok, images=r.images
                            )
                            for r in results
                        ],
                    )
                )
        except (asyncio.CancelledError, GeneratorExit):
            if setup is not None:
                if accumulator is not None:
                    accumulator.interrupt()
                    setup.recording.response_ended(accumulator)
                else:  # before the first response, or while tools ran
                    setup.recording.interrupted_before_answer()
            self.outcome = TurnOutcome("interrupted", responses)
            raise
        finally:
            if self.outcome is None:
                self.outcome = TurnOutcome("interrupted", responses)
            if self._on_end is not None:
                self._on_end(self)


def _request(setup: TurnSetup, candidate: Candidate, allow_tool_calls: bool) -> Request:
    return Request(
        model=candidate.model,
        messages=list(setup.context),
        system=setup.system,
        tools=setup.tools.specs() if setup.tools is not None else [],
        thinking=setup.thinking,
        max_output_tokens=setup.max_output_tokens,
        allow_tool_calls=allow_tool_calls,
        temperature=setup.temperature,
        top_p=setup.top_p,
        top_k=setup.top_k,
    )


def _answered_by(candidate: Candidate) -> dict[str, object]:
    return {"provider": candidate.provider_id, "model": candidate.model}


def _switch(accumulator: ResponseAccumulator, answering: Candidate, chain: FallbackStream) -> None:
    """The response is now asked of ``answering``: its row says so, and why."""
    accumulator.provider = answering.provider_id
    accumulator.base_data.update(_answered_by(answering))
    accumulator.base_data["fallback"] = [skipped.as_data() for skipped in chain.skipped]


def _notes(done: Done | None) -> list[TurnNote]:
    """What to tell the user about how a response ended, beyond its finish reason."""
    if done is None:
        return []
    if done.detail == "refusal":
        why = f": {done.explanation}" if done.explanation else ""
        return [TurnNote(f"the model declined to answer{why}", "warning")]
    if done.detail == "context_window":
        return [
            TurnNote(
                "the answer stopped at the model's context window: the conversation is "
                "too long for this model (start a new one, rewind, or switch to a model "
                "with a larger window)",
                "warning",
            )
        ]
    return []


def _interrupted_results(message: Message) -> Message:
    return _unanswered_results(message, "Interrupted by the user.")


def _unanswered_results(message: Message, why: str) -> Message:
    """An error result for each tool call of ``message``, saying ``why`` it did not run."""
    return Message(
        role="tool",
        content=[ToolResultBlock(c.id, c.name, why, is_error=True) for c in message.tool_calls()],
    )
