"""Snapshots of the ``‹ 2/3 ›`` version line, at 80 and 120 columns.

A regenerated answer (three versions, the second shown) and an edited prompt
(two versions, the second shown), reached through ``/retry``, ``/branch`` and
``/edit``; the 120-column one also shows a selected message (Alt+Up).
Deterministic as the other snapshots: a fresh database, a frozen clock, no
animation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ikigai.tui.widgets.message_views import AssistantMessage
from ikigai.tui.widgets.versions import VersionIndicator
from tests.app.conftest import make_app, wait_for
from tests.fakeserver import FakeServer, Reply, Text


async def _send(pilot: Any, text: str) -> None:
    pilot.app.prompt_input.set_text(text)
    await pilot.press("enter")


async def _settled(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: not app.busy and app.scrollback.last_answer() is not None)
    assert await app.conversation.saved()
    await pilot.pause(0.2)


def _labels(app: Any) -> list[str]:
    return [f"{w.index}/{w.count}" for w in app.query(VersionIndicator)]


@pytest.mark.parametrize("size", [(80, 24), (120, 30)], ids=["80", "120"])
def test_version_indicator(
    snap_compare, app_env: Path, fake_server: FakeServer, size: tuple[int, int]
) -> None:
    fake_server.enqueue(
        Reply([Text("Paris.")]),
        Reply([Text("Paris, on the Seine.")]),
        Reply([Text("It is Paris.")]),
        Reply([Text("Rome.")]),
        Reply([Text("Madrid.")]),
    )
    app = make_app(app_env, fake_server.base_url("openai-chat"))

    async def branched(pilot: Any) -> None:
        await wait_for(pilot, app.ready.is_set)
        await _send(pilot, "What is the capital of France?")
        await _settled(pilot)
        for expected in ("Paris, on the Seine.", "It is Paris."):
            await _send(pilot, "/retry")
            await wait_for(pilot, lambda e=expected: app.scrollback.last_answer().copy_text == e)
            await _settled(pilot)
        await _send(pilot, "/branch 2")
        await wait_for(
            pilot, lambda: app.scrollback.last_answer().copy_text == "Paris, on the Seine."
        )
        await _send(pilot, "And of Italy?")
        await wait_for(pilot, lambda: len(app.query(AssistantMessage)) == 2 and not app.busy)
        await _settled(pilot)
        await _send(pilot, "/edit 2")
        await wait_for(pilot, lambda: app.prompt_input.text == "And of Italy?")
        await _send(pilot, "And of Spain?")
        await wait_for(pilot, lambda: app.scrollback.last_answer().copy_text == "Madrid.")
        await _settled(pilot)
        await wait_for(pilot, lambda: _labels(app) == ["2/3", "2/2"], what="both version lines")
        if size[0] == 120:
            await pilot.press("alt+up", "up")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=branched)
