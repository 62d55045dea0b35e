"""Storing a conversation as it happens, and rebuilding its model context later.

``ConversationRecorder`` is a subscriber of the turn runner's events (directly
in headless mode, through the message bus in the app): the user's prompt is
committed before the request goes out, each response is written while it
streams by a ``storage.recorder.TurnRecorder``, and tool results become rows of
their own. ``history_from_messages`` turns stored rows back into the
``Message`` list a provider needs to continue the conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from ikigai.engine.turns import Interrupted, RunnerEvent, ToolResultEvent, ToolRun, UserPrompt
from ikigai.providers.events import ProviderEvent
from ikigai.providers.request import (
    ContentBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from ikigai.storage.models import StoredMessage
from ikigai.storage.recorder import TurnRecorder
from ikigai.storage.repository import Database


class ConversationRecorder:
    """Writes every runner event of one conversation to the database.

    ``provider``, ``model``, ``thinking_level`` and ``profile`` may change
    between turns (a switch mid-conversation); each message records the values
    in force when it was written.
    """

    def __init__(
        self,
        db: Database,
        conversation_id: int,
        *,
        provider: str,
        model: str,
        thinking_level: str | None = None,
        profile: str | None = None,
    ) -> None:
        self.db = db
        self.conversation_id = conversation_id
        self.provider = provider
        self.model = model
        self.thinking_level = thinking_level
        self.profile = profile
        self._turn: TurnRecorder | None = None
        self._response_number = 0
        self._parent_id: int | None = None

    def __call__(self, response_number: int, event: RunnerEvent) -> Awaitable[None] | None:
        """Store ``event``; returns an awaitable when a database write is needed.

        Most deltas are only buffered (the row is flushed at most every 250 ms),
        so they return None and cost the stream no task switch.
        """
        kind = type(event)
        if kind is UserPrompt:
            assert isinstance(event, UserPrompt)
            return self._user_prompt(event.text)
        if kind is ToolResultEvent:
            assert isinstance(event, ToolResultEvent)
            return self._tool_result(event)
        if kind is Interrupted:
            return self._interrupted()
        if kind is ToolRun:
            return None
        turn = self._turn
        if (
            turn is not None and response_number == self._response_number and turn.absorb(event)  # type: ignore[arg-type]
        ):
            return None
        return self._response_event(response_number, event)  # type: ignore[arg-type]

    async def _user_prompt(self, text: str) -> None:
        self._turn = None
        self._response_number = 0
        self._parent_id = await self.db.add_message(
            self.conversation_id,
            "user",
            text,
            data={"profile": self.profile, "provider": self.provider, "model": self.model},
        )

    async def _response_event(self, response_number: int, event: ProviderEvent) -> None:
        if self._turn is None or response_number != self._response_number:
            self._response_number = response_number
            self._turn = TurnRecorder(
                self.db,
                self.conversation_id,
                self._parent_id,
                provider=self.provider,
                model=self.model,
                thinking_level=self.thinking_level,
            )
        await self._turn.record(event)

    async def _tool_result(self, result: ToolResultEvent) -> None:
        parent = self._turn.message_id if self._turn is not None else self._parent_id
        self._parent_id = await self.db.add_message(
            self.conversation_id,
            "tool_result",
            result.output,
            data={
                "id": result.id,
                "name": result.name,
                "output": result.output,
                "success": result.ok,
            },
            parent_id=parent,
        )

    async def _interrupted(self) -> None:
        turn = self._turn
        if turn is not None and turn.message_id is not None and not turn.finished:
            await asyncio.shield(turn.interrupt())
            return
        # Cancelled before the model said anything: note it, so the prompt is
        # not mistaken for one that was never answered for another reason.
        await asyncio.shield(
            self.db.add_message(self.conversation_id, "interrupted", "", parent_id=self._parent_id)
        )


def history_from_messages(rows: Sequence[StoredMessage]) -> list[Message]:
    """The model context a stored conversation ends with.

    Follows ``clear`` (context starts again) and ``rewind`` (context goes back
    to the ``mark`` named in its data). Partial answers (status ``streaming``,
    ``interrupted`` or ``error``) are shown to the user but not sent back to
    the model. Tool calls that never got a result (a crash or a cancel while a
    tool ran) are answered with an error result so the context stays valid.
    """
    context: list[Message] = []
    marks: dict[int, int] = {}
    for row in rows:
        if row.kind == "user":
            context.append(Message.user(row.content))
        elif row.kind == "assistant":
            if row.status == "complete":
                context.append(_assistant(row))
        elif row.kind == "tool_result":
            block = ToolResultBlock(
                str(row.data.get("id", "")),
                str(row.data.get("name", "")),
                str(row.data.get("output", row.content)),
                is_error=not row.data.get("success", True),
            )
            if context and context[-1].role == "tool":
                context[-1].content.append(block)
            else:
                context.append(Message(role="tool", content=[block]))
        elif row.kind == "clear":
            context = []
            marks.clear()
        elif row.kind == "mark":
            marks[row.id] = len(context)
        elif row.kind == "rewind":
            target = row.data.get("mark_id")
            if isinstance(target, int) and target in marks:
                del context[marks[target] :]
    return _answer_every_tool_call(context)


def _assistant(row: StoredMessage) -> Message:
    content: list[ContentBlock] = []
    thinking = row.data.get("thinking")
    if isinstance(thinking, str) and thinking:
        content.append(ThinkingBlock(thinking))
    if row.content:
        content.append(TextBlock(row.content))
    for call in row.data.get("tool_calls") or []:
        if isinstance(call, dict) and call.get("id"):
            content.append(
                ToolCallBlock(str(call["id"]), str(call.get("name", "")), _arguments(call))
            )
    provider_data = row.data.get("provider_data")
    return Message(
        role="assistant",
        content=content,
        provider=row.data.get("provider"),
        provider_data=provider_data if isinstance(provider_data, dict) else {},
    )


def _arguments(call: dict[str, Any]) -> str:
    arguments = call.get("arguments", "")
    return arguments if isinstance(arguments, str) else ""


def _answer_every_tool_call(context: list[Message]) -> list[Message]:
    out: list[Message] = []
    for position, message in enumerate(context):
        out.append(message)
        calls = message.tool_calls() if message.role == "assistant" else []
        if not calls:
            continue
        following = context[position + 1] if position + 1 < len(context) else None
        answered = (
            {r.tool_call_id for r in following.tool_results()}
            if following is not None and following.role == "tool"
            else set()
        )
        missing = [
            ToolResultBlock(c.id, c.name, "The tool call was interrupted.", is_error=True)
            for c in calls
            if c.id not in answered
        ]
        if not missing:
            continue
        if following is not None and following.role == "tool":
            following.content.extend(missing)
        else:
            out.append(Message(role="tool", content=list(missing)))
    return out
