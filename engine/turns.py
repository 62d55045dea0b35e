"""The turn runner: one user prompt -> model responses (and tool rounds) until done.

Shared by the headless mode and the full-screen app. It never touches the
screen or stdout: every event goes to an ``EventSink`` (the headless writer, or
the app's message bus); storage subscribes to the same events.
The runner owns the conversation history (a list of ``Message``) so the next
prompt continues where this one ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ikigai.engine.accumulator import AssistantBuilder
from ikigai.providers.base import Provider
from ikigai.providers.events import Error, ProviderEvent
from ikigai.providers.request import (
    Message,
    Request,
    ThinkingLevel,
    ToolResultBlock,
    ToolSpec,
)


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


@dataclass(frozen=True, slots=True)
class UserPrompt:
    """The user's prompt; published (and so stored) before the request is sent."""

    text: str
    type: str = "user_prompt"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "user_prompt", "text": self.text}


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The turn was cancelled; what arrived so far is kept."""

    type: str = "interrupted"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "interrupted"}


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A tool call the client is about to run (after the response that asked for it)."""

    id: str
    name: str
    arguments: str
    type: str = "tool_run"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tool_run", "id": self.id, "name": self.name, "arguments": self.arguments}


RunnerEvent = ProviderEvent | ToolResultEvent | UserPrompt | Interrupted | ToolRun
EventSink = Callable[[int, RunnerEvent], Awaitable[None] | None]
"""Receives ``(response_number, event)``; response numbers start at 1 (0 for the prompt).

A sink that returns an awaitable is awaited before the runner goes on, which
is how a storage subscriber commits the prompt before the request is sent.
"""


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
        tools: ToolRunner | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.sink = sink
        self.history: list[Message] = history if history is not None else []
        self.tools = tools
        self.partial: Message | None = None

    def request(self, *, allow_tool_calls: bool = True) -> Request:
        """The request for the history as it stands."""
        return Request(
            model=self.settings.model,
            messages=list(self.history),
            system=self.settings.system,
            tools=list(self.settings.tools),
            thinking=self.settings.thinking,
            max_output_tokens=self.settings.max_output_tokens,
            allow_tool_calls=allow_tool_calls,
        )

    async def _emit(self, response_number: int, event: RunnerEvent) -> None:
        pending = self.sink(response_number, event)
        if pending is not None:
            await pending

    async def run(self, prompt: str) -> TurnOutcome:
        """Answer ``prompt``; cancellation keeps (and publishes) what arrived.

        The loop ends when a response asks for no tools. The last response that
        ``max_turns`` allows is requested with tool calls disabled, so the model
        answers with what it has.
        """
        self.history.append(Message.user(prompt))
        await self._emit(0, UserPrompt(prompt))
        responses = 0
        builder: AssistantBuilder | None = None
        try:
            while True:
                responses += 1
                last = responses >= self.settings.max_turns
                builder = AssistantBuilder(self.provider.id)
                sink = self.sink
                request = self.request(allow_tool_calls=not last)
                async for event in self.provider.stream(request):
                    builder.add(event)
                    pending = sink(responses, event)
                    if pending is not None:
                        await pending
                if builder.error is not None:
                    self._keep_partial(builder)
                    return TurnOutcome("error", responses, builder.error)
                message = builder.message()
                self.history.append(message)
                builder = None
                calls = message.tool_calls()
                if not calls or self.tools is None:
                    return TurnOutcome("complete", responses)
                if last:
                    return TurnOutcome("max_turns", responses)
                await self._run_tools(responses, message)
        except asyncio.CancelledError:
            if builder is not None:
                self._keep_partial(builder)
            await asyncio.shield(self._emit(responses, Interrupted()))
            raise

    async def _run_tools(self, response_number: int, message: Message) -> None:
        assert self.tools is not None
        for call in message.tool_calls():
            await self._emit(response_number, ToolRun(call.id, call.name, call.arguments))
        try:
            results = await self.tools.run_calls(message)
        except asyncio.CancelledError:
            # The model's next request must answer every call it made.
            self.history.append(
                Message(
                    role="tool",
                    content=[
                        ToolResultBlock(c.id, c.name, "Interrupted by the user.", is_error=True)
                        for c in message.tool_calls()
                    ],
                )
            )
            raise
        for result in results:
            await self._emit(response_number, result)
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
