"""Copying answers, messages and code blocks to the clipboard (OSC 52 through Textual)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp


def copy_last(app: IkigaiApp) -> None:
    """Copy the newest answer."""
    answer = app.scrollback.last_answer()
    if answer is None:
        app.notify("no answer to copy yet", severity="warning")
        return
    copy(app, answer.copy_text, "the last answer")


def copy_message(app: IkigaiApp, back: int) -> None:
    """Copy the ``back``-th message from the end (1 = the last)."""
    views = [v for v in app.scrollback.messages() if hasattr(v, "copy_text")]
    if not 1 <= back <= len(views):
        app.note(f"/copy: there are {len(views)} messages", warning=True)
        return
    copy(app, str(views[-back].copy_text), f"message {back} from the end")


def copy_code(app: IkigaiApp, number: int) -> None:
    """Copy code block ``number`` of the last answer."""
    answer = app.scrollback.last_answer()
    blocks = answer.code_blocks if answer is not None else []
    if not 1 <= number <= len(blocks):
        app.note(f"/copy code: the last answer has {len(blocks)} code blocks", warning=True)
        return
    copy(app, blocks[number - 1], f"code block {number}")


def copy_last_code(app: IkigaiApp) -> None:
    """Copy the last code block of the last answer (its label says ``code N``)."""
    answer = app.scrollback.last_answer()
    blocks = answer.code_blocks if answer is not None else []
    if not blocks:
        app.notify("the last answer has no code block", severity="warning")
        return
    copy_code(app, len(blocks))


def copy_picker(app: IkigaiApp) -> None:
    """Let the user choose any message or code block to copy."""
    from ikigai.tui.screens.copy import CopyScreen

    def chosen(choice: tuple[str, str] | None) -> None:
        if choice is not None:
            copy(app, choice[1], choice[0])

    app.push_screen(CopyScreen(app.scrollback.messages()), chosen)


def copy(app: IkigaiApp, text: str, what: str) -> None:
    """Put ``text`` on the clipboard and say what was copied."""
    app.copy_to_clipboard(text)
    app.notify(f"copied {what} ({len(text)} characters)")
