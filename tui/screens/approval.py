"""The tool approval prompt: y = once, a = always (this conversation), n = deny (+ reason).

The tool name and arguments come from the model: control characters in them
(raw, or decoded from JSON ``\\u001b`` escapes) are shown as ``\\xNN``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ikigai.engine.toolloop import Approval
from ikigai.providers.request import ToolCallBlock
from ikigai.tui.widgets.safe_content import plain, styled
from ikigai.tui.widgets.spinner import running

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp


def pretty_arguments(arguments: str) -> str:
    """The call's arguments, indented JSON when they parse."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


class ApprovalScreen(ModalScreen[Approval]):
    """Asks whether the model may run one tool call."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('once')", "Yes, once"),
        Binding("a", "answer('always')", "Always"),
        Binding("n", "deny", "No"),
        Binding("escape", "answer('deny')", "Deny", priority=True),
    ]

    def __init__(self, call: ToolCallBlock) -> None:
        super().__init__()
        self.call = call
        self._asking_reason = False

    def compose(self) -> ComposeResult:
        with Vertical(id="approval-box", classes="dialog"):
            yield Static(
                styled("[b]Run tool [reverse] $name [/reverse]?[/b]", name=self.call.name),
                classes="dialog-title",
            )
            with VerticalScroll(id="approval-args"):
                yield Static(plain(pretty_arguments(self.call.arguments)))
            yield Static(
                "[b]y[/b] yes, once   [b]a[/b] always (this conversation)   "
                "[b]n[/b] no (with a reason)   [b]Esc[/b] no",
                id="approval-keys",
            )
            reason = Input(placeholder="reason for the model (Enter to send, may be empty)")
            reason.id = "approval-reason"
            reason.display = False
            yield reason

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the reason is typed, letters are text, not answers.
        if self._asking_reason and action in ("answer", "deny"):
            return parameters == ("deny",) or None
        return True

    def action_answer(self, answer: str) -> None:
        self.dismiss(Approval(answer))  # type: ignore[arg-type]

    def action_deny(self) -> None:
        self._asking_reason = True
        reason = self.query_one("#approval-reason", Input)
        reason.display = True
        reason.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(Approval("deny", event.value.strip() or None))


async def ask(app: IkigaiApp, call: ToolCallBlock) -> Approval:
    """Ask about ``call`` with the approval screen; Esc or closing the screen denies."""
    answer: asyncio.Future[Approval] = asyncio.get_running_loop().create_future()
    screen = ApprovalScreen(call)

    def done(result: Approval | None) -> None:
        if not answer.done():
            answer.set_result(result if result is not None else Approval("deny"))

    app.push_screen(screen, done)
    spinner = app.spinner
    # set_state wins over the bus events the spinner has not shown yet (tool_run).
    spinner.call_later(spinner.set_state, "waiting for your approval")
    try:
        return await answer
    finally:
        if screen.is_active:
            screen.dismiss(None)
        spinner.call_later(spinner.set_state, running(call.name))
