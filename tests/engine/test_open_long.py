"""Opening a long stored conversation: the context is rebuilt a step at a time with the
event loop going on between, and a prompt sent meanwhile waits for it and is answered
with all of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ikigai.engine import context as engine_context
from ikigai.engine.context import STEP, rebuild, rebuild_stepwise
from ikigai.providers.request import Message
from ikigai.storage.models import StoredMessage
from ikigai.storage.tree import DECODE_STEP
from tests.engine.helpers import run_turn, settings_with
from tests.fakeserver import FakeServer, Reply, Text
from tests.long_conversation import fill, text

MESSAGES = 2 * max(STEP, DECODE_STEP) + 100
"""Long enough to be decoded and rebuilt in several steps."""


class DuringTheRebuild:
    """``engine.context._user`` that calls ``begin`` on the event loop when the rebuild
    takes its first prompt, and notes which loop callbacks had run at its last one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, begin: Callable[[], None]) -> None:
        self._begin = begin
        self._user = engine_context._user
        self.prompts = 0
        self.ran: list[str] = []
        self.at_the_last_prompt: list[str] | None = None
        monkeypatch.setattr(engine_context, "_user", self)

    def __call__(self, row: StoredMessage) -> Message:
        if self.prompts == 0:
            self._begin()
            asyncio.get_running_loop().call_soon(self.ran.append, "callback")
        self.prompts += 1
        if row.content == text(MESSAGES - 2):
            self.at_the_last_prompt = list(self.ran)
        return self._user(row)


async def test_a_prompt_sent_while_the_context_is_rebuilt_waits_and_gets_all_of_it(
    tmp_path: Path, fake_server: FakeServer, opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id, _ = await fill(tmp_path / "ikigai.db", MESSAGES)
    fake_server.enqueue(Reply([Text("the answer")]))
    conversation = await opened(tmp_path, fake_server, "openai-chat/gpt-4o")
    turns: list[asyncio.Future[object]] = []

    def send() -> None:  # typed and sent while the context is still being rebuilt
        turns.append(asyncio.ensure_future(run_turn(conversation.send("one more"))))

    during = DuringTheRebuild(monkeypatch, send)
    shown = await conversation.open(conversation_id)
    assert [row.content for row in shown.rows][-1] == text(MESSAGES - 1)
    await conversation.ready()
    assert during.at_the_last_prompt == ["callback"]  # the loop ran during the rebuild
    [turn] = turns
    await turn
    [request] = fake_server.requests
    sent = [m for m in request.json["messages"] if m["role"] != "system"]
    assert [m["content"] for m in sent] == [*map(text, range(MESSAGES)), "one more"]
    assert [m["role"] for m in sent[:2]] == ["user", "assistant"]
    assert conversation.context_length == MESSAGES + 2
    assert await conversation.saved()
    db = conversation.db
    assert db is not None
    path = await db.path_messages(conversation_id, await db.current_leaf(conversation_id))
    assert [row.content for row in path[-3:]] == [text(MESSAGES - 1), "one more", "the answer"]


async def test_the_stepwise_rebuild_is_the_rebuild(tmp_path: Path) -> None:
    """Same rows, same context, marks and totals, however many steps it takes."""
    from ikigai.storage.repository import Database

    conversation_id, leaf = await fill(tmp_path / "ikigai.db", MESSAGES)
    async with await Database.open(tmp_path / "ikigai.db") as db:
        rows = await db.path_messages(conversation_id, leaf)
    whole = rebuild(rows)
    for step in (1, 7, STEP, len(rows) + 1):
        stepwise = await rebuild_stepwise(rows, step)
        assert stepwise.context == whole.context
        assert (stepwise.last_row_id, stepwise.last_prompt_id) == (leaf, leaf - 1)
        assert stepwise.marks == whole.marks and stepwise.total_tokens == whole.total_tokens


async def test_the_estimate_of_a_long_context_counts_each_message_once(
    tmp_path: Path, fake_server: FakeServer, opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of the opened conversation was measured by a provider: the meter estimates
    it, and asking again (the status bar does, every frame) counts only what was added."""
    from ikigai.engine import meter
    from ikigai.engine.estimate import request_tokens

    counted: list[int] = []
    count = meter.messages_tokens

    def noted(messages: Sequence[object]) -> int:
        counted.append(len(messages))
        return count(messages)  # type: ignore[arg-type]

    monkeypatch.setattr(meter, "messages_tokens", noted)
    conversation_id, _ = await fill(tmp_path / "ikigai.db", MESSAGES)
    settings = settings_with(models={"fake-model": {"context_window": 10_000_000}})
    conversation = await opened(tmp_path, fake_server, "openai-chat/fake-model", settings)
    await conversation.open(conversation_id)
    await conversation.ready()

    def estimate() -> int:
        return request_tokens(
            conversation.system_prompt(), conversation._tools.specs(), conversation.context()
        )

    assert conversation.context_tokens() == estimate()
    assert conversation.context_tokens() == estimate()
    assert counted == [MESSAGES, 0]
    fake_server.enqueue(Reply([Text("short")], usage={"input_tokens": 0, "output_tokens": 0}))
    await run_turn(conversation.send("one more"))
    assert conversation.context_tokens() == estimate()
    assert sum(counted) == MESSAGES + 2  # the prompt and its answer, counted once
    await conversation.mark("here")
    fake_server.enqueue(Reply([Text("more")], usage={"input_tokens": 0, "output_tokens": 0}))
    await run_turn(conversation.send("and another"))
    await conversation.rewind("here")  # cut back: what stays was counted already
    assert conversation.context_tokens() == estimate()
    assert sum(counted) == MESSAGES + 2
    await conversation.clear()
    assert conversation.context_tokens() == estimate()
    assert estimate() == request_tokens(
        conversation.system_prompt(), conversation._tools.specs(), []
    )
