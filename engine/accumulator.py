"""Turning a stream of normalized events back into a conversation message.

``AssistantBuilder`` is fed every event of one response and produces the
assistant ``Message`` that goes into the history for the next request: its
thinking, text and completed tool calls, plus the provider's opaque
``provider_data``. It is shared by the headless run and the full-screen app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ikigai.providers.events import (
    Done,
    Error,
    ProviderEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)
from ikigai.providers.request import ContentBlock, Message, TextBlock, ThinkingBlock, ToolCallBlock


@dataclass(slots=True)
class _PendingCall:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)
    done: bool = False


class AssistantBuilder:
    """Accumulates one response's events into an assistant message."""

    __slots__ = ("_calls", "_order", "_text", "_thinking", "done", "error", "provider")

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._calls: dict[int, _PendingCall] = {}
        self._order: list[int] = []
        self.done: Done | None = None
        self.error: Error | None = None

    def add(self, event: ProviderEvent) -> None:
        """Take one event into account."""
        match event:
            case TextDelta(text=text):
                self._text.append(text)
            case ThinkingDelta(text=text):
                self._thinking.append(text)
            case ToolCallStart(index=index, id=call_id, name=name):
                self._calls[index] = _PendingCall(call_id, name)
                self._order.append(index)
            case ToolCallDelta(index=index, arguments=arguments):
                if index in self._calls:
                    self._calls[index].arguments.append(arguments)
            case ToolCallDone(index=index):
                if index in self._calls:
                    self._calls[index].done = True
            case Done():
                self.done = event
            case Error():
                self.error = event

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def thinking(self) -> str:
        return "".join(self._thinking)

    def tool_calls(self) -> list[ToolCallBlock]:
        """The completed tool calls, in the order the model made them."""
        calls = [self._calls[index] for index in self._order]
        return [
            ToolCallBlock(call.id, call.name, "".join(call.arguments))
            for call in calls
            if call.done
        ]

    def message(self) -> Message:
        """The assistant message as it stands (partial if the stream failed)."""
        content: list[ContentBlock] = []
        thinking = self.thinking
        if thinking:
            content.append(ThinkingBlock(thinking))
        text = self.text
        if text:
            content.append(TextBlock(text))
        content.extend(self.tool_calls())
        data = dict(self.done.provider_data) if self.done is not None else {}
        return Message(
            role="assistant", content=content, provider=self.provider, provider_data=data
        )
