"""Content for Textual widgets built from untrusted text: shown literally, never interpreted.

Two things can go wrong when model text, tool output, titles or error messages
are put into a widget: control characters reach the terminal (Textual passes
``ESC`` and the C1 controls through), and text is read as markup (Textual's
markup parser raises on text such as ``[a=\\b``, which ``rich.markup.escape``
does not escape). Both helpers neutralize controls
(``engine.textsafety.neutralize_display``: ``\\xNN``, CR LF / CR as line breaks)
and never parse the untrusted text as markup: ``styled`` parses only its
static template and substitutes the values as plain text.
"""

from __future__ import annotations

from textual.content import Content

from ikigai.engine.textsafety import neutralize_display


def plain(text: str) -> Content:
    """``text`` as widget content, literally: no markup, controls shown as ``\\xNN``."""
    return Content(neutralize_display(text))


def styled(template: str, **values: str) -> Content:
    """Static markup ``template`` with each ``$name`` replaced by ``values[name]`` as plain text."""
    return Content.from_markup(
        template, **{name: neutralize_display(value) for name, value in values.items()}
    )
