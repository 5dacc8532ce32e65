"""`route chat` with stdin not a terminal: each line is one turn, read under the rules `route ask` applies to stdin.

Binary input (NUL bytes, or mostly control characters) is refused before any turn is sent (exit 3); text that is
not UTF-8 is read as Latin-1 with the same one notice ask gives; UTF-16 (with a byte-order mark) is read whole.
Lines are taken as they arrive, so a program feeding the session one prompt at a time gets each reply in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from routecli.errors import InputError
from routecli.routing.inputs import FIRST_CHUNK, MAX_INPUT_BYTES, decode

_NAME = "stdin"
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def piped_lines(stream: BinaryIO, notice: Callable[[str], None]) -> Iterator[str]:
    """The lines of `stream`, each as text without its line end; InputError for binary input."""
    read = getattr(stream, "read1", stream.read)
    first = read(FIRST_CHUNK)
    if first.startswith(_UTF16_MARKS):  # every other byte is NUL: only the whole input can be decoded
        yield from _whole(first + stream.read(), notice)
        return
    decode(first, _NAME)  # binary in the first chunk: refused before the first turn is sent
    said: set[str] = set()
    pending, block = bytearray(), first
    while block:
        pending += block
        while (end := pending.find(b"\n")) >= 0:
            line = bytes(pending[:end])
            del pending[: end + 1]
            yield _text(line, notice, said)
        if len(pending) > MAX_INPUT_BYTES:
            limit = MAX_INPUT_BYTES >> 20
            raise InputError(f"{_NAME}: a line larger than {limit:,} MiB, the most route reads of one input")
        block = read(FIRST_CHUNK)
    if pending:
        yield _text(bytes(pending), notice, said)


def _text(line: bytes, notice: Callable[[str], None], said: set[str]) -> str:
    """One line under ask's rules: NUL bytes or control characters refuse it, Latin-1 says so (once a session)."""
    utf8, _, text = decode(line, _NAME)
    if text is not None and text not in said:
        said.add(text)
        notice(text)
    return bytes(utf8).decode("utf-8").removesuffix("\r")


def _whole(data: bytes, notice: Callable[[str], None]) -> Iterator[str]:
    utf8, _, text = decode(data, _NAME)
    if text is not None:
        notice(text)
    yield from bytes(utf8).decode("utf-8").splitlines()
