"""The SSE decoder against the WHATWG parsing rules, chunk by chunk."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikigai.providers.sse import EventTooLarge, SSEDecoder, SSEEvent


def decode(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def test_lf_crlf_and_cr_line_ends_are_equivalent() -> None:
    for newline in (b"\n", b"\r\n", b"\r"):
        body = newline.join([b"event: ping", b"data: one", b"", b"data: two", b"", b""])
        events = decode(body)
        assert [(e.event, e.data) for e in events] == [("ping", "one"), ("message", "two")]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    events = decode(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n")
    assert [e.data for e in events] == ["a", "b"]


def test_comments_are_ignored() -> None:
    events = decode(b": OPENROUTER PROCESSING\n\ndata: x\n: inside\n\n")
    assert [e.data for e in events] == ["x"]


def test_multi_line_data_joins_with_newline() -> None:
    events = decode(b"data: first\ndata:second\ndata:  third\n\n")
    assert events[0].data == "first\nsecond\n third"


def test_only_blank_line_dispatches() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: waiting\n") == []
    assert decoder.pending
    assert [e.data for e in decoder.feed(b"\n")] == ["waiting"]
    assert not decoder.pending


def test_unterminated_tail_is_not_dispatched_but_reported_pending() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: done\n\nevent: message_stop\ndata: {}")
    assert [e.data for e in events] == ["done"]
    assert decoder.pending


def test_utf8_character_split_across_chunks() -> None:
    encoded = "data: naïve — 日本語 🎉\n\n".encode()
    for cut in range(1, len(encoded)):
        events = decode(encoded[:cut], encoded[cut:])
        assert [e.data for e in events] == ["naïve — 日本語 🎉"], cut


def test_unicode_line_separators_inside_data_do_not_split_lines() -> None:
    events = decode('data: {"t": "a\u2028b\u0085c"}\n\n'.encode())
    assert events[0].data == '{"t": "a\u2028b\u0085c"}'


def test_very_long_event_in_tiny_chunks() -> None:
    payload = "x" * 2_000_000
    body = f"data: {payload}\n\n".encode()
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for start in range(0, len(body), 997):
        events.extend(decoder.feed(body[start : start + 997]))
    assert len(events) == 1
    assert len(events[0].data) == 2_000_000


def test_field_without_colon_and_without_space() -> None:
    events = decode(b"data\n\ndata:x\n\n")
    assert [e.data for e in events] == ["", "x"]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: lonely\n\ndata: next\n\n")[0].event == "message"


def test_id_and_retry_fields() -> None:
    events = decode(b"id: 7\nretry: 1500\ndata: x\n\nretry: soon\ndata: y\n\n")
    assert (events[0].id, events[0].retry) == ("7", 1500)
    assert (events[1].id, events[1].retry) == ("7", 1500)


def test_leading_byte_order_mark_is_dropped() -> None:
    events = decode("\ufeffdata: x\n\n".encode())
    assert events[0].data == "x"


STREAM = (
    b': comment\r\nevent: a\r\ndata: {"k": "\xc3\xa9\xe6\x97\xa5"}\r\n\r\n'
    b"data: line1\rdata: line2\r\r"
    b"data: last\n\n"
)


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert decode(*chunks) == decode(STREAM)
    assert [e.data for e in decode(STREAM)] == ['{"k": "é日"}', "line1\nline2", "last"]


# -- the cap on one event ---------------------------------------------------------------------


def test_an_event_over_the_cap_raises_with_the_events_before_it() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    body = b"data: small\n\n" + b"data: " + b"x" * 2000 + b"\n\n" + b"data: after\n\n"
    with pytest.raises(EventTooLarge) as caught:
        decoder.feed(body)
    assert [e.data for e in caught.value.events] == ["small"]
    assert caught.value.limit == 1000 and "1,000 bytes" in str(caught.value)
    assert decoder.failed and decoder.buffered == 0
    assert decoder.feed(b"data: more\n\n") == []  # nothing after the failure


def test_an_endless_line_is_stopped_at_the_cap_without_holding_more() -> None:
    decoder = SSEDecoder(max_event_bytes=64 * 1024)
    decoder.feed(b"data: ")
    with pytest.raises(EventTooLarge):
        for _ in range(10_000):
            decoder.feed(b"y" * 1000)
            assert decoder.buffered <= 64 * 1024
    assert decoder.peak_buffered <= 64 * 1024


def test_many_data_lines_count_towards_the_cap() -> None:
    decoder = SSEDecoder(max_event_bytes=10_000)
    with pytest.raises(EventTooLarge):
        for _ in range(1000):
            decoder.feed(b"data: " + b"z" * 50 + b"\n")
    assert decoder.peak_buffered <= 10_000 + 57


def test_events_up_to_the_cap_pass_and_each_event_starts_from_zero() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    events = []
    for _ in range(50):
        events += decoder.feed(b"data: " + b"a" * 100 + b"\n\n")
        events += decoder.feed(b": a comment that is long but held by nobody " * 2 + b"\n")
        events += decoder.feed(b"id: 7\nretry: 10\n\n")  # fields without data: no event
    assert len(events) == 50 and all(len(e.data) == 100 for e in events)
    assert decoder.peak_buffered <= 100 + 64
