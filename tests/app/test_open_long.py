"""Opening a long stored conversation in the app: its last page is mounted from the end,
a few views at a time, and ends up whole and in order; a prompt sent at once is answered
with the whole conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ikigai.engine.conversation_types import PAGE
from ikigai.storage.tree import DECODE_STEP
from ikigai.tui.switching import CHUNK, FIRST_VIEWS
from ikigai.tui.widgets.message_views import AssistantMessage, Notice, UserMessage
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text
from tests.long_conversation import fill, text

MESSAGES = 2 * DECODE_STEP + 1


def shown(app: Any) -> list[str]:
    """The prompts and answers on screen, top to bottom."""
    return [
        w.copy_text
        for w in app.scrollback.children
        if isinstance(w, UserMessage | AssistantMessage)
    ]


async def test_a_long_conversation_opens_whole_and_in_order_and_answers_with_all_of_it(
    app_env: Path, fake_server: FakeServer
) -> None:
    assert PAGE > FIRST_VIEWS + 2 * CHUNK  # the page is mounted in several steps
    conversation_id, _ = await fill(app_env / "ikigai.db", MESSAGES)
    fake_server.enqueue(Reply([Text("the answer")]))
    app = make_app(app_env, fake_server.base_url("openai-chat"), conversation=conversation_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: bool(shown(app)))
        app.prompt_input.set_text("one more")
        await pilot.press("enter")  # sent as soon as the conversation shows
        await wait_for(pilot, lambda: not app.busy and "the answer" in shown(app))
        page = [text(n) for n in range(MESSAGES - PAGE, MESSAGES)]
        assert shown(app) == [*page, "one more", "the answer"]
        assert app.scrollback.has_earlier
        notes = [n.copy_text for n in app.query(Notice)]
        assert f"resumed conversation #{conversation_id}" in notes
    sent = [m for m in fake_server.requests[-1].json["messages"] if m["role"] != "system"]
    assert [m["content"] for m in sent] == [*map(text, range(MESSAGES)), "one more"]
