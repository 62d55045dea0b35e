"""The ``‹ 2/3 ›`` line under a message that has other versions (edits, regenerations).

One ``VersionIndicator`` sits right after the message widget it belongs to
(``owner``); ``show_versions`` adds, updates or removes them from what the
engine says about each message shown. Switching versions is the keyboard's
(``←``/``→`` on a selected message) or ``/branch``'s: the line only tells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual.widget import Widget
from textual.widgets import Static

from ikigai.tui.widgets.rows import row_id
from ikigai.tui.widgets.safe_content import plain

if TYPE_CHECKING:
    from ikigai.storage.tree import Version
    from ikigai.tui.widgets.rows import RowHandle

VERSIONED_CLASS = "has-versions"
"""Set on a message followed by its indicator (the indicator keeps the gap below)."""


def version_label(index: int, count: int) -> str:
    """``‹ 2/3 ›``: this is version ``index`` of ``count``."""
    return f"‹ {index}/{count} ›"


class VersionIndicator(Static):
    """Which version of its message is shown, out of how many."""

    DEFAULT_CLASSES = "versions"

    def __init__(self, owner: Widget, index: int, count: int) -> None:
        super().__init__(plain(version_label(index, count)))
        self.owner = owner
        self.row: RowHandle | None = getattr(owner, "row", None)
        self.index = index
        self.count = count

    def show(self, index: int, count: int) -> None:
        """Show version ``index`` of ``count``."""
        if (index, count) != (self.index, self.count):
            self.index, self.count = index, count
            self.update(plain(version_label(index, count)))


def owners(children: list[Widget], kinds: tuple[type[Widget], ...]) -> dict[int, Widget]:
    """The first widget of each stored message among ``children`` (of ``kinds``)."""
    found: dict[int, Widget] = {}
    for child in children:
        if isinstance(child, kinds):
            message = row_id(child)
            if message is not None and message not in found:
                found[message] = child
    return found


def show_versions(
    container: Widget,
    children: list[Widget],
    kinds: tuple[type[Widget], ...],
    versions: Mapping[int, Version],
) -> None:
    """Put an indicator after each message of ``children`` with more than one version,
    update the ones there, and remove those whose message has one version now."""
    indicators = {id(c.owner): c for c in children if isinstance(c, VersionIndicator)}
    for message, widget in owners(children, kinds).items():
        version = versions.get(message)
        indicator = indicators.pop(id(widget), None)
        if version is None or version.count < 2:
            if indicator is not None:
                indicator.remove()
            widget.remove_class(VERSIONED_CLASS)
            continue
        widget.add_class(VERSIONED_CLASS)
        if indicator is not None:
            indicator.show(version.index, version.count)
        else:
            container.mount(VersionIndicator(widget, version.index, version.count), after=widget)
    for orphan in indicators.values():
        if orphan.owner not in children:
            orphan.remove()
