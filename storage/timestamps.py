"""Timestamps as stored: ISO-8601, UTC, millisecond precision, ``Z`` suffix.

Text timestamps in this fixed format sort lexically in time order, read well in
``sqlite3`` sessions and exports, and need no conversion in JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    """The current time, e.g. ``2025-01-31T12:00:00.123Z``."""
    return format_timestamp(datetime.now(UTC))


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime in the storage format (converted to UTC)."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
