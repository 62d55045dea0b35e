"""Real conversations for engine tests: settings, a database file, the fake server."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ikigai.engine.conversation import Conversation, ToolAccess
from ikigai.engine.events import Notice, RunnerEvent
from ikigai.engine.settings import Settings, resolve_run
from ikigai.engine.turns import Turn
from ikigai.storage.repository import Database
from tests.fakeserver import FakeServer

KEYS = {
    "OPENAI_API_KEY": "sk-loopback",
    "ANTHROPIC_API_KEY": "sk-ant-loopback",
    "GEMINI_API_KEY": "gm-loopback",
}


def settings_with(**sections: Any) -> Settings:
    """Settings from plain config data; providers never retry unless told to."""
    providers = {
        name: {"max_retries": 0, "timeout": 10.0}
        for name in ("openai", "openai-chat", "anthropic", "google")
    }
    providers.update(sections.pop("providers", {}))
    return Settings.from_data({"providers": providers, **sections})


async def open_conversation(
    tmp_path: Path,
    server: FakeServer,
    model: str,
    settings: Settings | None = None,
    *,
    db: bool = True,
    notices: list[Notice] | None = None,
    cwd: Path | None = None,
) -> Conversation:
    """A stored conversation with ``model`` (``provider/model``) served by ``server``."""
    settings = settings or settings_with()
    provider = model.partition("/")[0]
    run = resolve_run(settings, model=model, base_url=server.base_url(provider), env=KEYS)
    database = await Database.open(tmp_path / "ikigai.db") if db else None
    sink: Callable[[Notice], None] = notices.append if notices is not None else lambda n: None
    return Conversation(
        settings,
        run,
        db=database,
        tools=ToolAccess(cwd=cwd or tmp_path),
        on_notice=sink,
        base_url=server.base_url(provider),
    )


async def run_turn(turn: Turn) -> list[RunnerEvent]:
    """Every event of ``turn``, once it ended."""
    return [event async for event in turn]


async def settle(conversation: Conversation) -> None:
    """Wait until everything requested so far is written."""
    writer = conversation._writer
    if writer is not None:
        await writer.drain()


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the database file, read with a separate connection."""
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql, params))
