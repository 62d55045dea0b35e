"""The F1 help screen: every key, every slash command, and how sending while busy works."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ikigai.tui.commands import COMMANDS

BUSY_POLICY = (
    "While a turn is running, Enter does not send: the prompt stays in the input and a "
    "note says so. Press Esc to cancel the turn (the partial answer is kept and stored "
    "as interrupted), or wait for it to finish. /thinking off turns thinking off; an "
    "answer that thought carries a ✻ thinking line: click it, or t on the selected "
    "answer, to read it."
)

MCP_SERVERS = (
    "Servers configured under [mcp.servers.<name>] offer their tools to the model as "
    "mcp__<server>__<tool>. Each call asks first, unless [tools] sets "
    '"mcp__<server>__<tool>" (or "mcp__<server>__*", every tool of a server) to allow or '
    "deny; the server's allow / deny lists choose which tools are offered at all. /mcp "
    "shows each server's state, its tools and their permissions."
)

INPUT_KEYS: tuple[tuple[str, str], ...] = (
    ("up / down", "prompt history (on the first / last line)"),
    ("tab", "complete a command, model, level, profile, mark, @path"),
    ("tab / shift+tab", "in the completion list: next / previous (enter takes, esc closes)"),
    ("f2 / ctrl+d", "in the picker (ctrl+o): rename / delete the highlighted conversation"),
    ("home / end", "scroll to the top / bottom while the input is empty"),
    ("up / down", "move the selection, once alt+up selected a message"),
    ("alt+up, up…, enter", "expand or collapse a selected tool call's output (or click it)"),
    ("click ✻ thinking", "read an answer's thinking (or t on the selected answer)"),
)


def help_text(keys: Sequence[tuple[str, str, str]]) -> str:
    """The help screen's content as Rich markup."""
    lines = [r'[b]Keys[/b]  (rebind under \[keys] in the config: action = "key")']
    for key, action, description in keys:
        lines.append(f"  [b]{escape(f'{key:<22}')}[/b] {escape(description)}  [dim]{action}[/dim]")
    for key, description in INPUT_KEYS:
        lines.append(f"  [b]{escape(f'{key:<22}')}[/b] {escape(description)}")
    lines.append("")
    lines.append("[b]Slash commands[/b]")
    for command in COMMANDS.values():
        lines.append(f"  [b]{escape(f'{command.usage:<34}')}[/b] {escape(command.summary)}")
    lines.append("")
    lines.append("[b]Sending while busy[/b]")
    lines.append(f"  {escape(BUSY_POLICY)}")
    lines.append("")
    lines.append("[b]MCP servers[/b]")
    lines.append(f"  {escape(MCP_SERVERS)}")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Shows the help; Esc, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss_help", "Close", priority=True),
    ]

    def __init__(self, keys: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static("[b]ikigai help[/b]  (Esc to close)", classes="dialog-title")
            yield Static(help_text(self.keys), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
