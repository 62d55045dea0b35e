"""Moving through the messages of the scrollback from the keyboard, and acting on one.

``MessageNavigation`` is the scrollback's base: Alt+Up (from anywhere) selects
the last message, then Up/Down (or Alt+Up/Alt+Down) move the selection, and
on the selected message ``e`` (or Enter) edits a prompt (or expands a tool
call's output), ``r`` regenerates an answer, ``t`` opens an answer's thinking,
``←``/``→`` show its previous/next version; Esc goes back to the input.
The widget only selects and says what was asked (``MessageAction``); the app
carries it out through the engine (``tui.branching``).

It also takes a branch off the screen (``cut_from``): when a new version of a
message starts, that message and everything after it go, in order with the
stream's own events (the scrollback handles both in its queue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget

from ikigai.tui.widgets.message_views import AssistantMessage, ErrorBlock, ToolCallView, UserMessage
from ikigai.tui.widgets.rows import row_id

SELECTABLE: tuple[type[Widget], ...] = (UserMessage, AssistantMessage, ErrorBlock, ToolCallView)
"""What the selection stops on: prompts, answers (a failed answer too) and tool calls."""
VERSIONED: tuple[type[Widget], ...] = (UserMessage, AssistantMessage, ErrorBlock, ToolCallView)
"""What may carry a version indicator: the first piece of each stored message."""
SELECTED_CLASS = "-selected"

MESSAGE_BINDINGS: tuple[tuple[str, str, str], ...] = (
    ("e,enter", "edit_message", "Edit the selected prompt (expand a selected tool call)"),
    ("r", "regenerate_message", "Regenerate the selected answer"),
    ("t", "show_thinking", "Show the thinking of the selected answer"),
    ("left", "previous_version", "Previous version of the selected message"),
    ("right", "next_version", "Next version of the selected message"),
    ("escape", "leave_messages", "Back to the input"),
)
"""``(keys, action, description)`` of the bindings active while a message is selected."""


class MessageNavigation(VerticalScroll):
    """A scroll view whose prompts and answers can be selected and acted on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move_selection(-1)", "Previous message", show=False),
        Binding("down", "move_selection(1)", "Next message", show=False),
        *(
            Binding(keys, action, description, show=False, id=action)
            for keys, action, description in MESSAGE_BINDINGS
        ),
    ]

    @dataclass
    class MessageAction(Message):
        """The user asked for ``action`` on the selected ``widget`` (message ``row``)."""

        action: str
        """``edit``, ``regenerate``, ``thinking``, ``previous_version``, ``next_version``
        or ``leave``."""
        widget: Widget | None
        row: int | None

    @dataclass
    class PathCut(Message):
        """Message ``replaces`` and what followed it left the screen (``found``: it was
        shown; else the whole scrollback was cleared)."""

        replaces: int
        found: bool
        first: bool
        """Nothing shown is above the cut (earlier messages may need loading)."""

    selected: Widget | None = None

    # -- selection -------------------------------------------------------------------

    def selectable(self) -> list[Widget]:
        """The messages the selection can stop on, top to bottom."""
        return [c for c in self.children if isinstance(c, SELECTABLE)]

    def select(self, widget: Widget | None) -> None:
        """Select ``widget`` (``None``: nothing), scrolling it into view."""
        if self.selected is not None:
            self.selected.remove_class(SELECTED_CLASS)
        self.selected = widget
        if widget is not None:
            widget.add_class(SELECTED_CLASS)
            self.scroll_to_widget(widget, animate=False)
            self.focus()

    def step_selection(self, offset: int) -> bool:
        """Move the selection ``offset`` messages (from the end when none is selected).

        Returns False when it moved past the last message (the selection ends).
        """
        choices = self.selectable()
        if not choices:
            self.select(None)
            return False
        if self.selected not in choices:
            self.select(choices[-1] if offset < 0 else None)
            return offset < 0
        index = choices.index(self.selected) + offset
        if index >= len(choices):
            self.select(None)
            return False
        self.select(choices[max(index, 0)])
        return True

    def action_move_selection(self, offset: int) -> None:
        if self.selected is None:
            if offset < 0:
                self.scroll_up()
            else:
                self.scroll_down()
            return
        if not self.step_selection(offset):
            self._ask("leave")

    def action_edit_message(self) -> None:
        if isinstance(self.selected, ToolCallView):
            self.selected.action_toggle_output()  # a tool call's output opens in place
            self.call_after_refresh(self.scroll_to_widget, self.selected, animate=False)
            return
        self._ask("edit")

    def action_show_thinking(self) -> None:
        self._ask("thinking")

    def action_regenerate_message(self) -> None:
        self._ask("regenerate")

    def action_previous_version(self) -> None:
        self._ask("previous_version")

    def action_next_version(self) -> None:
        self._ask("next_version")

    def action_leave_messages(self) -> None:
        self.select(None)
        self._ask("leave")

    def _ask(self, action: str) -> None:
        widget = self.selected
        self.post_message(self.MessageAction(action, widget, row_id(widget)))

    # -- branches --------------------------------------------------------------------

    def cut_from(self, replaces: int) -> bool:
        """Remove message ``replaces`` and everything after it; when it is not shown,
        remove everything. Returns whether it was shown."""
        children = [c for c in self.children if c is not getattr(self, "marker", None)]
        start = next((i for i, c in enumerate(children) if row_id(c) == replaces), None)
        found = start is not None
        removed = children[start or 0 :]
        for child in removed:
            if child is self.selected:
                self.selected = None
            child.remove()
        self.forget(removed)
        self.post_message(self.PathCut(replaces, found, not start))
        return found

    def forget(self, removed: list[Widget]) -> None:
        """Drop what the view keeps about ``removed`` widgets (nothing here)."""
