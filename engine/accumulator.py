"""One model response, accumulated once from its stream events.

``ResponseAccumulator`` is fed every event of one response exactly once, by the
engine, as it arrives. Everything else reads it instead of accumulating again:

* the next request's context takes ``message()`` (thinking, text, completed
  tool calls and the provider's opaque ``provider_data``);
* storage writes ``snapshot()`` (the row's content, its JSON ``data`` and
  status) at its own pace, comparing ``version`` to know when there is news;
* the screen can take the text that arrived since it last looked with
  ``text_parts_since``.

Adding an event costs a list append: nothing per event grows with the length
of the answer. Text is joined when someone reads it.

A tool-call delta or end for an index whose start never came (a broken
stream) is kept as an incomplete call in storage, so nothing the model sent is
lost, but it is never run or sent back to the model: it has no id or name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ikigai.providers.events import (
    Done,
    Error,
    ProviderEvent,
    Start,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from ikigai.providers.request import ContentBlock, Message, TextBlock, ThinkingBlock, ToolCallBlock
from ikigai.storage.metadata import compact
from ikigai.storage.writer import Snapshot, ToolCallRow

ResponseStatus = Literal["streaming", "complete", "error", "interrupted"]


class _Call:
    __slots__ = ("arguments", "done", "id", "name", "started")

    def __init__(self, call_id: str, name: str, *, started: bool) -> None:
        self.id = call_id
        self.name = name
        self.arguments: list[str] = []
        self.done = False
        self.started = started

    def block(self) -> ToolCallBlock:
        return ToolCallBlock(self.id, self.name, "".join(self.arguments))

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "arguments": "".join(self.arguments),
        }
        if not self.done or not self.started:
            data["incomplete"] = True
        return data


class _Text:
    """Append-only text parts with the joined string cached (joined when read)."""

    __slots__ = ("_joined", "_joined_parts", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._joined = ""
        self._joined_parts = 0

    def value(self) -> str:
        parts = self.parts
        if self._joined_parts != len(parts):
            self._joined += "".join(parts[self._joined_parts :])
            self._joined_parts = len(parts)
        return self._joined


class ResponseAccumulator:
    """The single record of one model response while it streams and after it ended."""

    __slots__ = (
        "_calls",
        "_completed",
        "_order",
        "_text",
        "_thinking",
        "base_data",
        "cost_usd",
        "done",
        "error",
        "provider",
        "response_model",
        "status",
        "version",
    )

    def __init__(self, provider: str, base_data: Mapping[str, Any] | None = None) -> None:
        self.provider = provider
        self.base_data: dict[str, Any] = dict(base_data or {})
        self._text = _Text()
        self._thinking = _Text()
        self._calls: dict[int, _Call] = {}
        self._order: list[int] = []
        self._completed: list[int] = []
        self.done: Done | None = None
        self.error: Error | None = None
        self.response_model: str | None = None
        self.status: ResponseStatus = "streaming"
        self.version = 0
        self.cost_usd: float | None = None
        """The response's price, set by the conversation when it ends (``None``: unknown)."""

    # -- feeding ------------------------------------------------------------------------------

    def add(self, event: ProviderEvent) -> None:
        """Take one event into account (``Retry`` notices and events after the end are ignored)."""
        kind = type(event)
        if kind is TextDelta:
            self._text.parts.append(event.text)  # type: ignore[union-attr]
        elif kind is ThinkingDelta:
            self._thinking.parts.append(event.text)  # type: ignore[union-attr]
        elif self.status != "streaming":
            return
        elif kind is ToolCallDelta:
            assert isinstance(event, ToolCallDelta)
            self._call(event.index).arguments.append(event.arguments)
        elif kind is ToolCallStart:
            assert isinstance(event, ToolCallStart)
            call = self._calls.get(event.index)
            if call is None:
                self._calls[event.index] = _Call(event.id, event.name, started=True)
                self._order.append(event.index)
            else:
                call.id, call.name, call.started = event.id, event.name, True
        elif kind is ToolCallDone:
            assert isinstance(event, ToolCallDone)
            call = self._call(event.index)
            if call.done:
                return
            call.done = True
            if call.started:
                self._completed.append(event.index)
        elif kind is Start:
            assert isinstance(event, Start)
            self.response_model = event.model
        elif kind is Done:
            assert isinstance(event, Done)
            self.done = event
            self.status = "complete"
        elif kind is Error:
            assert isinstance(event, Error)
            self.error = event
            self.status = "error"
        else:
            return
        self.version += 1
        return

    def _call(self, index: int) -> _Call:
        call = self._calls.get(index)
        if call is None:
            call = _Call("", "", started=False)
            self._calls[index] = call
            self._order.append(index)
        return call

    def set_cost(self, cost_usd: float | None) -> None:
        """Record the response's price (computed from its usage when it ended)."""
        if cost_usd != self.cost_usd:
            self.cost_usd = cost_usd
            self.version += 1

    def interrupt(self) -> None:
        """The response was cancelled: what arrived is kept, marked ``interrupted``."""
        if self.status == "streaming":
            self.status = "interrupted"
            self.version += 1

    # -- reading ------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer text so far."""
        return self._text.value()

    @property
    def thinking(self) -> str:
        """The reasoning text so far."""
        return self._thinking.value()

    @property
    def text_part_count(self) -> int:
        """How many text pieces arrived (a cursor for ``text_parts_since``)."""
        return len(self._text.parts)

    def text_parts_since(self, cursor: int) -> tuple[str, int]:
        """The text that arrived after ``cursor`` pieces, and the new cursor."""
        parts = self._text.parts
        return "".join(parts[cursor:]), len(parts)

    def thinking_parts_since(self, cursor: int) -> tuple[str, int]:
        """The reasoning that arrived after ``cursor`` pieces, and the new cursor."""
        parts = self._thinking.parts
        return "".join(parts[cursor:]), len(parts)

    @property
    def usage(self) -> Usage:
        """Token counts (zero until the response ended normally)."""
        return self.done.usage if self.done is not None else Usage()

    @property
    def ended(self) -> bool:
        """Whether the response reached its end (complete, error or interrupted)."""
        return self.status != "streaming"

    def tool_calls(self) -> list[ToolCallBlock]:
        """The completed tool calls, in the order the model made them."""
        return [
            self._calls[index].block()
            for index in self._order
            if self._calls[index].done and self._calls[index].started
        ]

    def message(self) -> Message:
        """The assistant message for the model's context (partial if the stream failed)."""
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

    def snapshot(self) -> Snapshot:
        """The stored row as it stands: content, metadata and status (storage reads this)."""
        data: dict[str, Any] = {
            **self.base_data,
            "thinking": self.thinking,
            "tool_calls": [self._calls[index].as_data() for index in self._order],
        }
        if self.response_model and self.response_model != self.base_data.get("model"):
            data["response_model"] = self.response_model
        if self.done is not None:
            data["finish_reason"] = self.done.finish_reason
            data.update(self.done.usage.to_dict())
            data["provider_data"] = self.done.provider_data
            if self.done.detail is not None:
                data["stop_detail"] = self.done.detail  # paused, context_window, refusal
        if self.cost_usd is not None:
            data["cost_usd"] = self.cost_usd
        if self.error is not None:
            data.update(
                error_category=self.error.category,
                error_message=self.error.message,
                http_status=self.error.http_status,
                retry_after_ms=self.error.retry_after_ms,
            )
        rows = [
            ToolCallRow(
                "".join(call.arguments),
                {"id": call.id, "name": call.name, "arguments": "".join(call.arguments)},
            )
            for call in (self._calls[index] for index in self._completed)
        ]
        status = "streaming" if self.status == "streaming" else self.status
        return Snapshot(self.text, compact(data), status, rows)
