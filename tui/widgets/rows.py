"""Which stored message a piece of the scrollback shows.

Widgets built from stored rows (a resumed conversation) and from a live turn
(whose rows are still being written) carry a ``row``: anything with an ``id``
that is the message's id once it is stored (the engine's ``RowRef`` for live
pieces, ``StoredRow`` for restored ones). Branch actions (edit, regenerate,
switch version) name messages by that id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class RowHandle(Protocol):
    """A stored (or soon stored) message: ``id`` is ``None`` until it is written."""

    @property
    def id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A message read back from the database."""

    id: int


def row_id(widget: object) -> int | None:
    """The id of the stored message ``widget`` shows (``None``: not stored, or not yet)."""
    row: RowHandle | None = getattr(widget, "row", None)
    return row.id if row is not None else None
