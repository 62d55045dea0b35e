"""Write-ahead recording of one assistant answer from its stream events.

The assistant row is inserted as ``streaming`` at the first event, so a crash
or a cancel keeps what arrived. Text and thinking are written while the answer
streams, at most once per ``flush_interval`` (checked as events arrive: a
write per delta would cost more than the rendering). Completed tool calls are
written at once, both into the answer's ``data["tool_calls"]`` and as
``tool_call`` rows whose parent is the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ikigai.providers.events import (
    Done,
    Error,
    ProviderEvent,
    Retry,
    Start,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)
from ikigai.storage.metadata import compact
from ikigai.storage.models import MessageStatus
from ikigai.storage.repository import Database

FLUSH_INTERVAL = 0.25
"""Seconds between writes of a streaming answer."""


@dataclass(slots=True)
class _ToolCall:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)
    done: bool = False

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "arguments": "".join(self.arguments),
        }
        if not self.done:
            data["incomplete"] = True
        return data


class TurnRecorder:
    """Records one model response into ``messages`` as it streams.

    Feed every event of the stream to ``record()``; call ``interrupt()`` when
    the stream is cancelled. ``clock`` (seconds, monotonic) is injectable so
    tests can drive the flush throttle. ``message_id`` is the assistant row's
    id once the first event arrived; ``tool_call_ids`` the ``tool_call`` rows.
    """

    def __init__(
        self,
        db: Database,
        conversation_id: int,
        parent_id: int | None = None,
        *,
        provider: str | None = None,
        model: str | None = None,
        thinking_level: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        flush_interval: float = FLUSH_INTERVAL,
    ) -> None:
        self._db = db
        self._conversation_id = conversation_id
        self._parent_id = parent_id
        self._base = {"provider": provider, "model": model, "thinking_level": thinking_level}
        self._clock = clock
        self._interval = flush_interval
        self._lock = asyncio.Lock()
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._calls: dict[int, _ToolCall] = {}
        self._ending: dict[str, Any] = {}
        self._dirty = False
        self._last_flush = 0.0
        self.message_id: int | None = None
        self.tool_call_ids: list[int] = []
        self.status: MessageStatus | None = None

    @property
    def text(self) -> str:
        """The answer text received so far."""
        return "".join(self._text)

    @property
    def thinking(self) -> str:
        """The reasoning text received so far."""
        return "".join(self._thinking)

    @property
    def finished(self) -> bool:
        """Whether the row reached a final status (complete, error or interrupted)."""
        return self.status not in (None, "streaming")

    def absorb(self, event: ProviderEvent) -> bool:
        """Take a text or thinking delta without awaiting, when no write is due.

        The common case of a streaming answer: the delta is buffered and the
        caller need not schedule ``record``. Returns False when ``record``
        must handle the event (first event, a flush is due, any other kind).
        """
        if (
            isinstance(event, TextDelta | ThinkingDelta)
            and self.status == "streaming"
            and self._clock() - self._last_flush < self._interval
        ):
            (self._text if isinstance(event, TextDelta) else self._thinking).append(event.text)
            self._dirty = True
            return True
        return False

    async def record(self, event: ProviderEvent) -> None:
        """Take one stream event. Events after the end and ``Retry`` notices are ignored."""
        if isinstance(event, Retry):
            return
        async with self._lock:
            if self.finished:
                return
            if self.message_id is None:
                await self._create(event)
            await self._apply(event)

    async def interrupt(self) -> None:
        """End the answer as ``interrupted``, keeping everything that arrived.

        Does nothing when no event arrived yet or the answer already ended.
        """
        async with self._lock:
            if self.message_id is None or self.finished:
                return
            await self._finish("interrupted")

    async def flush(self) -> None:
        """Write pending text now, whatever the throttle says."""
        async with self._lock:
            if self.message_id is not None and not self.finished and self._dirty:
                await self._write()

    async def _create(self, first: ProviderEvent) -> None:
        if isinstance(first, Start) and first.model and first.model != self._base["model"]:
            self._ending["response_model"] = first.model
        self.message_id = await self._db.add_message(
            self._conversation_id,
            "assistant",
            "",
            data=self._data(),
            status="streaming",
            parent_id=self._parent_id,
        )
        self.status = "streaming"
        self._last_flush = self._clock()

    async def _apply(self, event: ProviderEvent) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self._thinking.append(event.text)
        elif isinstance(event, ToolCallStart):
            call = self._calls.setdefault(event.index, _ToolCall(event.id, event.name))
            call.id, call.name = event.id, event.name
        elif isinstance(event, ToolCallDelta):
            self._calls.setdefault(event.index, _ToolCall("", "")).arguments.append(event.arguments)
        elif isinstance(event, ToolCallDone):
            await self._tool_call_done(event.index)
            return
        elif isinstance(event, Done):
            self._ending.update(
                finish_reason=event.finish_reason,
                **event.usage.to_dict(),
                provider_data=event.provider_data,
            )
            await self._finish("complete")
            return
        elif isinstance(event, Error):
            self._ending.update(
                error_category=event.category,
                error_message=event.message,
                http_status=event.http_status,
                retry_after_ms=event.retry_after_ms,
            )
            await self._finish("error")
            return
        else:
            return
        self._dirty = True
        if self._clock() - self._last_flush >= self._interval:
            await self._write()

    async def _tool_call_done(self, index: int) -> None:
        call = self._calls.setdefault(index, _ToolCall("", ""))
        if call.done:
            return
        call.done = True
        assert self.message_id is not None
        async with self._db.transaction():
            await self._write()
            self.tool_call_ids.append(
                await self._db.add_message(
                    self._conversation_id,
                    "tool_call",
                    "".join(call.arguments),
                    data={"id": call.id, "name": call.name, "arguments": "".join(call.arguments)},
                    parent_id=self.message_id,
                )
            )

    async def _finish(self, status: MessageStatus) -> None:
        await self._write(status)
        self.status = status

    async def _write(self, status: MessageStatus | None = None) -> None:
        assert self.message_id is not None
        await self._db.update_message(
            self.message_id, content=self.text, data=self._data(), status=status
        )
        self._dirty = False
        self._last_flush = self._clock()

    def _data(self) -> dict[str, Any]:
        return compact(
            {
                **self._base,
                "thinking": self.thinking,
                "tool_calls": [self._calls[index].as_data() for index in sorted(self._calls)],
                **self._ending,
            }
        )
