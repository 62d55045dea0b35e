"""Compact, relative dates for lists (the conversation picker).

``just now``, ``5 min ago``, ``3 h ago``, ``yesterday``, ``4 days ago``, then
the ISO date (``2026-01-31``): short enough for an 80-column row, exact enough
to tell conversations apart. Stored timestamps are UTC ISO-8601
(``storage.timestamps``); ``now`` is injectable for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parse_timestamp(text: str) -> datetime | None:
    """A stored timestamp as an aware datetime, or ``None`` if it is not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def relative(text: str, now: Callable[[], datetime] = _utc_now) -> str:
    """How long ago stored timestamp ``text`` was (``""`` for one that cannot be read)."""
    moment = parse_timestamp(text)
    if moment is None:
        return ""
    current = now()
    seconds = (current - moment).total_seconds()
    if seconds < 60:
        return "just now"  # a clock a little behind the database's says the same
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    local, today = moment.astimezone(), current.astimezone()
    days = (today.date() - local.date()).days
    if days == 0:
        return f"{int(seconds // 3600)} h ago"
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    return local.date().isoformat()
