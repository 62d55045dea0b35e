"""Engine test fixtures: conversations that are always closed, even when a test fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ikigai.engine.conversation import Conversation
from tests.engine import helpers


@pytest.fixture
async def opened() -> AsyncIterator[Callable[..., Awaitable[Conversation]]]:
    """``await opened(tmp_path, server, model, ...)``: ``helpers.open_conversation``, closed
    at the end of the test (an open database thread would keep the test run alive)."""
    conversations: list[Conversation] = []

    async def make(*args: Any, **kwargs: Any) -> Conversation:
        conversation = await helpers.open_conversation(*args, **kwargs)
        conversations.append(conversation)
        return conversation

    yield make
    for conversation in conversations:
        await conversation.close(1.0)
