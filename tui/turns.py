"""The turn runner: one user prompt -> model responses (and tool rounds) until done.

Shared by the headless mode and the full-screen app. It never touches the
screen or stdout: every event goes to an ``EventSink`` (the headless writer, or
the app's message bus), and persistence goes through an optional ``Journal``.
The runner owns the conversation history (a list of ``Message``) so the next
prompt continues where this one ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from providers.base import Provider
from providers.events import Error, ProviderEvent
from providers.request import (
    Message,
    Request,
    ThinkingLevel,
    ToolResultBlock,
    ToolSpec,
)
from tui.conversation import AssistantBuilder


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool the client ran, and what it returned to the model."""

    id: str
    name: str
    ok: bool
    output: str
    type: str = "tool_result"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "tool_result",
            "id": self.id,
            "name": self.name,
            "ok": self.ok,
            "output": self.output,
        }


RunnerEvent = ProviderEvent | ToolResultEvent
EventSink = Callable[[int, RunnerEvent], Awaitable[None] | None]
"""Receives ``(response_number, event)``; response numbers start at 1."""


class ResponseRecorder(Protocol):
    """Persists one streaming response (see ``storage.recorder``)."""

    async def feed(self, event: ProviderEvent) -> None: ...

    async def interrupt(self) -> None: ...


class Journal(Protocol):
    """Where a turn is written down as it happens."""

    async def user_message(self, text: str) -> None:
        """Called before the request is sent."""

    def response_recorder(self, response_number: int) -> ResponseRecorder:
        """A recorder for the next response."""
        ...

    async def tool_result(self, result: ToolResultEvent) -> None:
        """Called when a tool finished."""


class ToolRunner(Protocol):
    """Runs the tool calls of one response and returns their results."""

    async def run_calls(self, message: Message) -> list[ToolResultEvent]: ...


@dataclass(slots=True)
class TurnSettings:
    """What every request of a turn carries."""

    model: str
    system: str | None = None
    thinking: ThinkingLevel | None = None
    max_output_tokens: int | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    max_turns: int = 50


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """How a turn ended: ``complete``, ``error``, ``interrupted`` or ``max_turns``."""

    status: Literal["complete", "error", "interrupted", "max_turns"]
    responses: int
    error: Error | None = None


class TurnRunner:
    """Sends prompts, streams responses to a sink, runs tools and loops."""

    def __init__(
        self,
        provider: Provider,
        settings: TurnSettings,
        sink: EventSink,
        *,
        history: list[Message] | None = None,
        journal: Journal | None = None,
        tools: ToolRunner | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.sink = sink
        self.history: list[Message] = history if history is not None else []
        self.journal = journal
        self.tools = tools
        self.partial: Message | None = None

    def request(self, *, with_tools: bool = True) -> Request:
        """The request for the history as it stands."""
        return Request(
            model=self.settings.model,
            messages=list(self.history),
            system=self.settings.system,
            tools=list(self.settings.tools) if with_tools else [],
            thinking=self.settings.thinking,
            max_output_tokens=self.settings.max_output_tokens,
        )

    async def run(self, prompt: str) -> TurnOutcome:
        """Answer ``prompt``; cancellation keeps (and records) what arrived."""
        self.history.append(Message.user(prompt))
        if self.journal is not None:
            await self.journal.user_message(prompt)
        responses = 0
        while True:
            responses += 1
            last = responses >= self.settings.max_turns
            builder = AssistantBuilder(self.provider.id)
            recorder = (
                self.journal.response_recorder(responses) if self.journal is not None else None
            )
            try:
                async for event in self.provider.stream(self.request(with_tools=not last)):
                    builder.add(event)
                    if recorder is not None:
                        await recorder.feed(event)
                    pending = self.sink(responses, event)
                    if pending is not None:
                        await pending
            except asyncio.CancelledError:
                self._keep_partial(builder)
                if recorder is not None:
                    await asyncio.shield(recorder.interrupt())
                raise
            if builder.error is not None:
                self._keep_partial(builder)
                return TurnOutcome("error", responses, builder.error)
            message = builder.message()
            self.history.append(message)
            calls = message.tool_calls()
            if not calls or self.tools is None:
                return TurnOutcome("complete", responses)
            if last:
                return TurnOutcome("max_turns", responses)
            await self._run_tools(responses, message)

    async def _run_tools(self, response_number: int, message: Message) -> None:
        assert self.tools is not None
        results = await self.tools.run_calls(message)
        for result in results:
            if self.journal is not None:
                await self.journal.tool_result(result)
            pending = self.sink(response_number, result)
            if pending is not None:
                await pending
        self.history.append(
            Message(
                role="tool",
                content=[
                    ToolResultBlock(r.id, r.name, r.output, is_error=not r.ok) for r in results
                ],
            )
        )

    def _keep_partial(self, builder: AssistantBuilder) -> None:
        # A partial answer is shown and stored, but not sent back to the model
        # unless the user asks to continue; the history keeps the user's prompt.
        self.partial = builder.message()
