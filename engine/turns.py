"""One turn: a prompt, then model responses and tool rounds until the model is done.

``Turn`` is what ``Conversation.send`` returns: iterate it (``async for event
in turn``) to run it. Each model response is accumulated once into a
``ResponseAccumulator`` (``turn.accumulator``), which the next request's
context, storage and the screen all read. The loop ends when a response asks
for no tools; the last response ``max_turns`` allows is requested with tool
calls disabled, so the model answers with what it has.

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
from ikigai.engine.events import RunnerEvent, ToolResultEvent, ToolRun, UserPrompt
from ikigai.providers.base import Provider
from ikigai.providers.events import Error
from ikigai.providers.request import Message, Request, ThinkingLevel, ToolResultBlock, ToolSpec

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
        """Stop the turn: the task iterating it is cancelled (what arrived is kept)."""
        if self._task is not None and self.outcome is None:
            self._task.cancel()

    async def aclose(self) -> None:
        """End the turn early from the consumer's side (same as a cancel, without one)."""
        await self._events.aclose()

    async def _run(self) -> AsyncGenerator[RunnerEvent]:
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
            while True:
                responses += 1
                self.response_number = responses
                last = responses >= setup.max_turns
                accumulator = ResponseAccumulator(setup.provider.id, setup.base_data)
                self.accumulator = accumulator
                self.row = self.rows[responses] = recording.response_started(accumulator)
                for stored in await recording.reported():
                    yield stored
                add = accumulator.add
                async for event in setup.provider.stream(_request(setup, not last)):
                    add(event)
                    yield event
                recording.response_ended(accumulator)
                if accumulator.error is not None:
                    self.outcome = TurnOutcome("error", responses, accumulator.error)
                    return
                message = accumulator.message()
                setup.context.append(message)
                accumulator = None
                calls = message.tool_calls()
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


def _request(setup: TurnSetup, allow_tool_calls: bool) -> Request:
    return Request(
        model=setup.model,
        messages=list(setup.context),
        system=setup.system,
        tools=setup.tools.specs() if setup.tools is not None else [],
        thinking=setup.thinking,
        max_output_tokens=setup.max_output_tokens,
        allow_tool_calls=allow_tool_calls,
    )


def _interrupted_results(message: Message) -> Message:
    return Message(
        role="tool",
        content=[
            ToolResultBlock(c.id, c.name, "Interrupted by the user.", is_error=True)
            for c in message.tool_calls()
        ],
    )
