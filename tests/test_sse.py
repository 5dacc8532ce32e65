"""The SSE decoder on its own: framing rules, whatever the chunking."""

from __future__ import annotations

import pytest

from routecli.providers.sse import SseDecoder, SseEvent


def decode(*chunks: bytes, partial: bool = False) -> list[SseEvent]:
    decoder = SseDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.finish(dispatch_partial=partial)


def bytewise(data: bytes, partial: bool = False) -> list[SseEvent]:
    return decode(*(data[i : i + 1] for i in range(len(data))), partial=partial)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_ends_and_multiline_data(newline: bytes) -> None:
    data = b"event: a\ndata: one\ndata:two\n\ndata: three\n\n".replace(b"\n", newline)
    expected = [SseEvent("a", "one\ntwo", True), SseEvent(None, "three", True)]
    assert decode(data) == expected
    assert bytewise(data) == expected


def test_crlf_split_between_reads_is_one_line_end() -> None:
    assert decode(b"data: x\r", b"\n\r", b"\ndata: y\r\n\r\n") == [SseEvent(None, "x", True), SseEvent(None, "y", True)]


def test_comments_are_ignored() -> None:
    assert decode(b": OPENROUTER PROCESSING\n\n:\n\ndata: x\n: inside\n\n") == [SseEvent(None, "x", True)]


def test_a_leading_bom_is_dropped_even_split() -> None:
    data = b"\xef\xbb\xbfevent: a\ndata: x\n\n"
    assert decode(data) == bytewise(data) == [SseEvent("a", "x", True)]
    assert decode(b"\xef", b"\xbb\xbfdata: y\n\n") == [SseEvent(None, "y", True)]


def test_only_a_leading_bom() -> None:
    assert decode(b"data: x\n\n\xef\xbb\xbfdata: y\n\n") == [SseEvent(None, "x", True)]  # a field named BOM+data


def test_last_event_without_blank_line() -> None:
    assert decode(b"data: x\n\ndata: y") == [SseEvent(None, "x", True)]  # per the spec, discarded
    assert decode(b"data: x\n\ndata: y", partial=True) == [SseEvent(None, "x", True), SseEvent(None, "y", True)]


def test_dispatch_rules() -> None:
    assert decode(b"\n\n\n") == []
    assert decode(b"event: ping\n\n") == [SseEvent("ping", "", False)]
    assert decode(b"data:\n\n") == [SseEvent(None, "", True)]
    assert decode(b"id: 1\n\n\n") == [SseEvent(None, "", False)] * 2  # the id persists, as in the SDKs
    assert decode(b"retry: 10\n\n") == [SseEvent(None, "", False)]
    assert decode(b"data: x\nunknown: y\n\n") == [SseEvent(None, "x", True)]


def test_bad_utf8_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        decode(b"data: \xff\n\n")


def test_multibyte_characters_split_across_reads() -> None:
    data = "data: café ☕\n\n".encode()
    assert bytewise(data) == [SseEvent(None, "café ☕", True)]


def test_an_unnamed_anthropic_event_with_garbage_breaks_the_stream_instead_of_losing_text():
    """Anthropic names every event; one without a name is read by its data, so garbage there is a broken stream
    (the run falls back), never a word silently dropped from a reply that then looks complete."""
    from routecli.providers.raw import events_of
    from routecli.providers.raw_anthropic import StreamReader

    def body(middle: bytes) -> list[bytes]:
        named = (b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
                 b'"delta": {"type": "text_delta", "text": "%s"}}\n\n')
        return [named % b"Lima", middle, named % b" is the capital.",
                b'event: message_stop\ndata: {"type": "message_stop"}\n\n']

    with pytest.raises(ValueError):
        events_of(iter(body(b"data: {not json\n\n")), StreamReader())
    unnamed = b'data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " X"}}\n\n'
    texts = [e.text for e in events_of(iter(body(unnamed)), StreamReader()) if hasattr(e, "text")]
    assert "".join(texts) == "Lima X is the capital."
