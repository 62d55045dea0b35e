"""``engine.textsafety``: which characters are neutralized, how, and that nothing else changes."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from ikigai.engine.textsafety import (
    escape_json_controls,
    has_controls,
    neutralize,
    neutralize_display,
    remove_controls,
)

C0 = [chr(code) for code in range(0x00, 0x20)]
C1 = [chr(code) for code in range(0x80, 0xA0)]
TERMINAL_CONTROLS = {*C0, "\x7f", *C1}


def controls_in(text: str) -> set[str]:
    return {character for character in text if character in TERMINAL_CONTROLS}


def test_every_control_but_tab_and_newline_becomes_backslash_x_hex() -> None:
    for character in [*C0, "\x7f", *C1]:
        expected = character if character in "\t\n" else f"\\x{ord(character):02x}"
        assert neutralize(character) == expected, repr(character)


def test_printable_characters_up_to_the_astral_planes_pass_unchanged() -> None:
    sample = [chr(code) for code in range(0xA0, 0x3000)] + ["\u2028", "\u202e", "😀", "\U0010fffd"]
    text = "".join(sample)
    assert neutralize(text) == text
    assert neutralize_display(text) == text
    assert remove_controls(text) == text


def test_the_terminal_attacks_are_shown_not_executed() -> None:
    assert neutralize("\x1b]52;c;SEVMTE8=\x1b\\") == "\\x1b]52;c;SEVMTE8=\\x1b\\"
    assert neutralize("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert neutralize("\x1b[2J") == "\\x1b[2J"
    assert neutralize("\x9b2J") == "\\x9b2J"
    assert neutralize("ok\rrm -rf") == "ok\\x0drm -rf"


def test_display_reads_cr_lf_and_lone_cr_as_line_breaks() -> None:
    assert neutralize_display("a\r\nb\rc\n\rd") == "a\nb\nc\n\nd"
    assert neutralize_display("10%\r20%\r") == "10%\n20%\n"
    assert neutralize_display("\x1b[1A\r\x1b[2K") == "\\x1b[1A\n\\x1b[2K"


def test_remove_controls_deletes_tab_and_newline_too() -> None:
    assert remove_controls("a\tb\nc\x1b[2Jd\x9be") == "abc[2Jde"
    assert has_controls("\t") and has_controls("\x9b") and not has_controls("plain é ␛")


@given(st.text())
def test_neutralized_text_holds_no_control_but_tab_and_newline(text: str) -> None:
    assert controls_in(neutralize(text)) <= {"\t", "\n"}
    assert controls_in(neutralize_display(text)) <= {"\t", "\n"}
    assert not has_controls(remove_controls(text))


@given(st.text())
def test_neutralize_maps_each_character_on_its_own(text: str) -> None:
    # With the per-character table above, this pins down the whole function.
    assert neutralize(text) == "".join(neutralize(character) for character in text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    assert neutralize_display(text) == neutralize(lines)


@given(st.recursive(st.text() | st.integers() | st.none(), lambda inner: st.lists(inner)))
def test_json_escaping_decodes_to_the_same_value(value: object) -> None:
    line = escape_json_controls(json.dumps(value, ensure_ascii=False))
    assert json.loads(line) == value
    assert not has_controls(line)
    assert "\u2028" not in line and "\u2029" not in line


def test_json_escaping_names_c1_controls_like_json_names_c0() -> None:
    line = escape_json_controls(json.dumps({"text": "a\x1bb\x9bc\x7fd\u2028"}, ensure_ascii=False))
    assert line == '{"text": "a\\u001bb\\u009bc\\u007fd\\u2028"}'
