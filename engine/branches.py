"""Branches of a conversation: what a switch between versions returns, and how the
version to switch to is chosen.

The tree itself lives in storage (``storage.tree``); the verbs that move
through it are ``Conversation``'s (``edit``, ``regenerate``, ``switch_branch``,
``continue_from``, ``fork``). This module holds the small pieces they share,
kept free of storage and I/O so they are easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.tree import Version

Position = Literal["current", "newest"]
"""Where opening a conversation puts the session: on the branch the user was
on (``current``, the stored leaf) or on the branch written to last (``newest``)."""

VersionChoice = Literal["next", "prev"] | int


class VersionError(ValueError):
    """The version asked for does not exist; the message says which ones do."""


@dataclass(frozen=True, slots=True)
class BranchMove:
    """The result of switching a message to another of its versions.

    ``replaced`` is the message that was on the path (it and everything after
    it leave the screen); ``rows`` is the new path from the chosen version to
    its newest leaf (tool-call attachments included); ``version`` says which
    version is now shown.
    """

    replaced: int
    rows: list[StoredMessage]
    version: Version


def pick_version(version: Version, choice: VersionChoice) -> int:
    """The id of the sibling ``choice`` names: ``next``, ``prev`` or a number from 1.

    Raises ``VersionError`` past either end or for a number out of range.
    """
    if choice == "next":
        picked = version.step(1)
        if picked is None:
            raise VersionError(f"this is the last version ({version.index}/{version.count})")
        return picked
    if choice == "prev":
        picked = version.step(-1)
        if picked is None:
            raise VersionError(f"this is the first version (1/{version.count})")
        return picked
    if isinstance(choice, int) and not isinstance(choice, bool) and 1 <= choice <= version.count:
        return version.siblings[choice - 1]
    raise VersionError(f"there are versions 1 to {version.count}, not {choice}")
