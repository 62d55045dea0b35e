"""Control characters in content made visible, so they never act on a terminal.

Model text, thinking, tool arguments and output, file contents, provider error
messages and stored titles are data. A terminal acts on control characters in
what it is sent: ``ESC ] 52`` writes the clipboard, ``ESC ] 0`` renames the
window, ``ESC [ 2 J`` clears the screen, U+009B is an 8-bit CSI, a lone
carriage return lets later text overwrite a line. Every front end passes
content through one of these functions before it is shown:

* ``neutralize`` — headless text on a terminal, ``ikigai history``, ``ikigai
  export`` to a terminal: every C0 control but tab and newline, DEL and every
  C1 control become ``\\xNN`` (two lowercase hex digits), so ``ESC`` shows as
  ``\\x1b`` and U+009B as ``\\x9b``.
* ``neutralize_display`` — the full-screen app: CR LF and a lone CR are line
  breaks first (as in CommonMark and Python's universal newlines), then
  ``neutralize``.
* ``remove_controls`` — the app's last guard on painted lines (where a
  visible replacement would change the line's width): deletes the same
  characters, tab and newline included (a painted line holds neither).
* ``escape_json_controls`` — JSON Lines output: ``json.dumps`` with
  ``ensure_ascii=False`` escapes only U+0000-U+001F; this adds DEL, the C1
  controls and U+2028/U+2029 as ``\\uXXXX`` escapes. The decoded value is
  unchanged.

Hand-written because no library draws this line: Rich and Textual strip only
BEL, BS, VT, FF and CR and pass ``ESC`` and the C1 controls through;
``str.isprintable`` also rejects harmless characters (no-break space, format
characters) that must be shown as they are.
"""

from __future__ import annotations

import re

_CONTROL_CODES = (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))

_VISIBLE: dict[int, str] = {code: f"\\x{code:02x}" for code in _CONTROL_CODES}
_REMOVED: dict[int, None] = {code: None for code in (*_CONTROL_CODES, 0x09, 0x0A)}
_JSON_ESCAPES: dict[int, str] = {
    code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)
}

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Matches one character that ``neutralize`` replaces."""

_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CARRIAGE_RETURN = re.compile("\r\n?")
_JSON_UNESCAPED = re.compile("[\x7f-\x9f\u2028\u2029]")


def neutralize(text: str) -> str:
    """``text`` with each control character but tab and newline shown as ``\\xNN``."""
    if CONTROL.search(text) is None:
        return text
    return text.translate(_VISIBLE)


def neutralize_display(text: str) -> str:
    """``text`` for the full-screen app: CR LF / CR as newlines, other controls as ``\\xNN``."""
    if CONTROL.search(text) is None:
        return text
    if "\r" in text:
        text = _CARRIAGE_RETURN.sub("\n", text)
    return text.translate(_VISIBLE)


def has_controls(text: str) -> bool:
    """Whether ``text`` holds any C0 control (tab and newline included), DEL or C1 control."""
    return _ANY_CONTROL.search(text) is not None


def remove_controls(text: str) -> str:
    """``text`` without any C0 control (tab and newline included), DEL or C1 control."""
    if _ANY_CONTROL.search(text) is None:
        return text
    return text.translate(_REMOVED)


def escape_json_controls(json_text: str) -> str:
    """JSON text (from ``json.dumps``) with DEL, C1 controls and U+2028/U+2029 ``\\u``-escaped.

    Only valid on ``json.dumps`` output: there these characters can only occur
    inside strings, where the escape decodes to the same character.
    """
    if _JSON_UNESCAPED.search(json_text) is None:
        return json_text
    return json_text.translate(_JSON_ESCAPES)
