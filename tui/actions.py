"""The app's keyboard actions that only show things: picker, help, thinking, copy, scroll.

A mixin of ``IkigaiApp``, so the app module keeps to the turn and the
conversation; every action here is also listed in the command palette (Ctrl+P).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.screen import Screen

from ikigai.tui.keys import default_bindings, effective_keys

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp


class ViewActions(App[int]):
    """Actions that change what is shown, never the conversation."""

    keymap: dict[str, str]

    def _app(self) -> IkigaiApp:
        from ikigai.tui.app import IkigaiApp

        assert isinstance(self, IkigaiApp)
        return self

    def action_open_picker(self) -> None:
        """Ctrl+O: the conversation picker."""
        self.show_picker()

    def show_picker(self) -> None:
        """Open the picker; the chosen conversation is resumed."""
        from ikigai.tui.switching import show_picker

        show_picker(self._app())

    def action_toggle_thinking(self) -> None:
        """Ctrl+T: show or hide the thinking pane (for the rest of the session)."""
        self._app().thinking_pane.toggle()

    def action_help(self) -> None:
        """F1: the help screen."""
        self.show_help()

    def show_help(self) -> None:
        """The help screen: every key (with the overrides) and command."""
        from ikigai.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(effective_keys(self.keymap)))

    def action_copy_last(self) -> None:
        """Ctrl+Y: copy the last answer (OSC 52)."""
        from ikigai.tui.clipboard import copy_last

        copy_last(self._app())

    def action_copy_code(self) -> None:
        """Ctrl+B: copy the last answer's last code block (``/copy code N`` for the others)."""
        from ikigai.tui.clipboard import copy_last_code

        copy_last_code(self._app())

    def action_copy_picker(self) -> None:
        """Ctrl+G: choose any message or code block to copy."""
        from ikigai.tui.clipboard import copy_picker

        copy_picker(self._app())

    def action_scroll_page_up(self) -> None:
        """Scroll the conversation up a page."""
        self._app().scrollback.scroll_page_up()

    def action_scroll_page_down(self) -> None:
        """Scroll the conversation down a page."""
        self._app().scrollback.scroll_page_down()

    def action_scroll_top(self) -> None:
        """Scroll to the start of the conversation."""
        self._app().scrollback.scroll_home(animate=False)

    def action_scroll_bottom(self) -> None:
        """Scroll to the end and follow the stream again."""
        self._app().scrollback.action_scroll_end_follow()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Ctrl+P lists every action of the app, and Textual's own."""
        yield from super().get_system_commands(screen)
        for binding in default_bindings():
            action = getattr(self, f"action_{binding.action}", None)
            if action is not None and binding.action != "quit":
                yield SystemCommand(binding.description, action.__doc__ or "", action)
