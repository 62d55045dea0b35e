"""Key bindings: the defaults, and ``[keys]`` overrides from the config.

Every action has a binding id; overrides map an action name to a key (or a
comma-separated list of keys) and are applied through Textual's keymap. An
unknown action or a key already used by another action is skipped with a
warning the app shows on screen; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding

from ikigai.tui.widgets.navigation import MESSAGE_BINDINGS


@dataclass(frozen=True, slots=True)
class KeyAction:
    """One rebindable action of the app."""

    action: str
    key: str
    description: str
    show: bool = True
    priority: bool = True


KEY_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("help", "f1", "Help"),
    KeyAction("cancel", "escape", "Cancel turn", priority=False),
    KeyAction("new_conversation", "ctrl+n", "New"),
    KeyAction("open_picker", "ctrl+o", "Open"),
    KeyAction("toggle_thinking", "ctrl+t", "Thinking"),
    KeyAction("copy_last", "ctrl+y", "Copy answer"),
    KeyAction("copy_picker", "ctrl+g", "Copy…", show=False),
    KeyAction("copy_code", "ctrl+b", "Copy the last code block", show=False),
    KeyAction("scroll_page_up", "pageup", "Page up", show=False),
    KeyAction("scroll_page_down", "pagedown", "Page down", show=False),
    KeyAction("scroll_top", "ctrl+home", "Top", show=False),
    KeyAction("scroll_bottom", "ctrl+end", "Bottom", show=False),
    KeyAction("select_previous", "alt+up", "Select message", show=False),
    KeyAction("select_next", "alt+down", "Next message", show=False),
    KeyAction("quit", "ctrl+q", "Quit"),
)
"""The app's actions in the order the footer and help screen show them (Help first: it
stays on the footer of an 80-column terminal).
``command_palette`` (Ctrl+P) is Textual's own and is listed by the help screen too."""

INPUT_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("submit", "enter", "Send the prompt", show=False),
    KeyAction("newline", "ctrl+j", "New line in the prompt", show=False),
)
"""Actions of the prompt input (its own bindings, rebindable the same way)."""

MESSAGE_ACTIONS: tuple[KeyAction, ...] = tuple(
    KeyAction(action, keys, description, show=False, priority=False)
    for keys, action, description in MESSAGE_BINDINGS
)
"""Actions on the message selected in the scrollback (its own bindings, rebindable)."""

ACTION_NAMES = frozenset(a.action for a in (*KEY_ACTIONS, *INPUT_ACTIONS, *MESSAGE_ACTIONS)) | {
    "command_palette"
}


def default_bindings() -> list[Binding]:
    """The app's ``BINDINGS``; each binding's id is its action name."""
    return [
        Binding(a.key, a.action, a.description, show=a.show, priority=a.priority, id=a.action)
        for a in KEY_ACTIONS
    ]


def input_keys(keymap: Mapping[str, str], action: str) -> list[str]:
    """The keys of a prompt-input action (``submit``, ``newline``), overrides applied."""
    if action in keymap:
        return _keys_of(keymap[action])
    return ["ctrl+j", "shift+enter"] if action == "newline" else ["enter"]


def _keys_of(value: str) -> list[str]:
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def resolve_keymap(overrides: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The keymap to apply, and one warning per override that was skipped.

    An override is skipped when its action is unknown, its key is empty, or
    one of its keys is the (effective) key of another action.
    """
    effective: dict[str, list[str]] = {a.action: [a.key] for a in (*KEY_ACTIONS, *INPUT_ACTIONS)}
    effective["newline"] = ["ctrl+j", "shift+enter"]
    # Message keys only act while a message is selected: they may share keys with the
    # app's other actions (Esc, Enter), not with each other.
    messages = {a.action: _keys_of(a.key) for a in MESSAGE_ACTIONS}
    effective["command_palette"] = ["ctrl+p"]
    keymap: dict[str, str] = {}
    warnings: list[str] = []
    for action, value in overrides.items():
        if action not in ACTION_NAMES:
            known = ", ".join(sorted(ACTION_NAMES))
            warnings.append(f"[keys] {action}: unknown action, ignored (actions: {known})")
            continue
        keys = _keys_of(str(value))
        if not keys:
            warnings.append(f"[keys] {action}: no key given, default kept")
            continue
        group = messages if action in messages else effective
        clash = next(
            (
                (key, other)
                for key in keys
                for other, taken in group.items()
                if other != action and key in taken
            ),
            None,
        )
        if clash is not None:
            key, other = clash
            warnings.append(
                f"[keys] {action} = {key!r} conflicts with {other}, default "
                f"{group[action][0]!r} kept"
            )
            continue
        group[action] = keys
        keymap[action] = ",".join(keys)
    return keymap, warnings


def effective_keys(keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(keys, action, description)`` for the help screen, overrides applied."""
    rows = [(keymap.get(a.action, a.key), a.action, a.description) for a in KEY_ACTIONS]
    rows.insert(5, (keymap.get("command_palette", "ctrl+p"), "command_palette", "Command palette"))
    rows.extend(
        (
            keymap.get(a.action, "ctrl+j,shift+enter" if a.action == "newline" else a.key),
            a.action,
            a.description,
        )
        for a in INPUT_ACTIONS
    )
    rows.extend((keymap.get(a.action, a.key), a.action, a.description) for a in MESSAGE_ACTIONS)
    return rows
