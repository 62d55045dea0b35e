"""Helpers shared by the tool tests."""

from __future__ import annotations

import json
from typing import Any

from ikigai.engine.tools import ToolContext, ToolResult, execute


async def call(name: str, context: ToolContext, **arguments: Any) -> ToolResult:
    """Run a tool through ``execute`` with JSON arguments, as the agent loop does."""
    return await execute(name, json.dumps(arguments), context)
