"""A minimal ``SnapshotSource`` for storage tests: text that grows, then ends."""

from __future__ import annotations

from typing import Any

from ikigai.storage.models import MessageStatus
from ikigai.storage.writer import Snapshot, ToolCallRow


class GrowingText:
    """Text appended piece by piece; ``end`` gives it a final status."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.parts: list[str] = []
        self.data = dict(data or {})
        self.calls: list[ToolCallRow] = []
        self.status: MessageStatus = "streaming"
        self.version = 0
        self.snapshots = 0

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.version += 1

    def call(self, call_id: str, name: str, arguments: str) -> None:
        self.calls.append(
            ToolCallRow(arguments, {"id": call_id, "name": name, "arguments": arguments})
        )
        self.version += 1

    def end(self, status: MessageStatus = "complete") -> None:
        self.status = status
        self.version += 1

    def snapshot(self) -> Snapshot:
        self.snapshots += 1
        return Snapshot("".join(self.parts), dict(self.data), self.status, list(self.calls))
