"""Pure parts of branches: version choice, message keys, the Markdown of a branched tree."""

from __future__ import annotations

import pytest

from ikigai.engine.branches import VersionError, pick_version
from ikigai.storage.export import to_markdown
from ikigai.storage.models import ConversationSummary, StoredMessage
from ikigai.storage.tree import Version
from ikigai.tui.keys import effective_keys, resolve_keymap
from ikigai.tui.widgets.versions import version_label


def test_pick_version_steps_and_numbers() -> None:
    version = Version(2, 3, (10, 20, 30))
    assert pick_version(version, "next") == 30
    assert pick_version(version, "prev") == 10
    assert pick_version(version, 3) == 30
    with pytest.raises(VersionError, match="versions 1 to 3, not 4"):
        pick_version(version, 4)
    with pytest.raises(VersionError, match="last version"):
        pick_version(Version(3, 3, (10, 20, 30)), "next")
    with pytest.raises(VersionError, match="first version"):
        pick_version(Version(1, 3, (10, 20, 30)), "prev")
    assert version_label(2, 3) == "‹ 2/3 ›"


def test_message_keys_are_rebindable_within_their_own_group() -> None:
    keymap, warnings = resolve_keymap({"regenerate_message": "g", "previous_version": "ctrl+n"})
    # ctrl+n is the app's "new", but message keys only act on a selected message.
    assert keymap == {"regenerate_message": "g", "previous_version": "ctrl+n"}
    assert warnings == []
    keymap, warnings = resolve_keymap({"edit_message": "r"})
    assert keymap == {}
    assert "conflicts with regenerate_message" in warnings[0]
    keys = {action: key for key, action, _ in effective_keys({"regenerate_message": "g"})}
    assert keys["regenerate_message"] == "g" and keys["select_previous"] == "alt+up"


def _row(row_id: int, parent: int | None, kind: str, content: str) -> StoredMessage:
    return StoredMessage(row_id, 1, parent, kind, content, {}, "complete", "t")  # type: ignore[arg-type]


def test_markdown_of_a_tree_has_one_heading_per_branch() -> None:
    summary = ConversationSummary(
        1, "T", None, 6, "t", "t", {"forked_from": {"conversation_id": 9}}
    )
    rows = [
        _row(1, None, "user", "root"),
        _row(2, 1, "assistant", "first"),
        _row(3, 1, "assistant", "second"),
        _row(4, 3, "tool_call", "{}"),
        _row(5, None, "user", "another root"),
    ]
    text = to_markdown(summary, rows, leaf_id=3)
    assert "forked from conversation 9" in text
    first, second, third = (text.index(f"## Branch {n} of 3") for n in (1, 2, 3))
    assert text.index("## Branch 1 of 3 (current)") == first
    assert first < text.index("second") < text.index("Tool call") < second
    assert "## Branch 2 of 3 (after message 1)" in text and text.index("first") > second
    assert "## Branch 3 of 3 (a new first message)" in text and text.index("another root") > third
    linear = to_markdown(summary, rows[:2], leaf_id=2)
    assert "Branch" not in linear and "_message 2 · t_" in linear
