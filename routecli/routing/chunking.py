"""Splitting a big input into chunks on natural boundaries, as byte offsets (no copies of the text).

A chunk ends, in order of preference, before a Markdown heading, at a blank line, at a line end, after a
sentence, at a space, or (for text with none of these) anywhere on a UTF-8 character boundary. A cut
that would fall inside a ``` code block moves to before the block when that still leaves a useful chunk.
"""

from __future__ import annotations

from routecli.values import frozen

BYTES_PER_TOKEN = 3  # conservative: English runs ~4 bytes a token, code and CJK ~3; a chunk must fit
MIN_FILL = 0.5  # never cut a chunk shorter than half its budget just to find a nicer boundary
_BOUNDARIES = (b"\n#", b"\n\n", b"\n", b". ", b" ")
_FENCE = b"```"


@frozen
class Chunk:
    source: int  # index of the attachment it comes from
    start: int  # byte offsets into that attachment's data
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def est_tokens(self) -> int:
        return max(1, -(-self.size // BYTES_PER_TOKEN))


def _char_boundary(data: bytes, cut: int) -> int:
    """Move a cut left so it does not split a UTF-8 sequence (continuation bytes are 0b10xxxxxx)."""
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _cut(data: bytes, start: int, limit: int) -> int:
    """Where to end a chunk that starts at `start` and may not pass `limit`."""
    floor = start + int((limit - start) * MIN_FILL)
    for marker in _BOUNDARIES:
        at = data.rfind(marker, floor, limit)
        if at != -1:
            cut = at + (0 if marker == b"\n#" else len(marker))
            if cut > start:
                return _outside_fence(data, start, cut, floor)
    return _char_boundary(data, limit)


def _outside_fence(data: bytes, start: int, cut: int, floor: int) -> int:
    if data.count(_FENCE, start, cut) % 2 == 0:
        return cut
    fence = data.rfind(_FENCE, start, cut)  # the opening fence of the block we would split
    line_start = data.rfind(b"\n", start, fence) + 1 if fence > start else start
    return line_start if line_start > floor else cut


def split(data: bytes, max_tokens: int, source: int = 0) -> list[Chunk]:
    """Chunks of at most `max_tokens` (by the conservative estimate) covering all of `data`."""
    max_bytes = max(16, max_tokens * BYTES_PER_TOKEN)
    chunks: list[Chunk] = []
    start = 0
    while start < len(data):
        if len(data) - start <= max_bytes:
            end = len(data)
        else:
            end = _cut(data, start, start + max_bytes)
            if end <= start:  # no boundary and a pathological multi-byte run: take the budget whole
                end = start + max_bytes
        chunks.append(Chunk(source, start, end))
        start = end
    return chunks
