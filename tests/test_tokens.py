"""Token counts: the cheap bounds really bound the exact count, and the exact count needs no network."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import tiktoken

from routecli.routing import tokens

SAMPLES = [
    "hi",
    "Hello, world! How are you today?",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n" * 50,
    "naïve café — “quotes” and emoji 🎉🎉 and 日本語のテキスト 中文 한국어",
    "   leading and trailing spaces   \n\n\n\t\ttabs\n",
    "1234567890 " * 100,
    "x" * 5000,
]


def _exact(text: str) -> int:
    return len(tiktoken.get_encoding(tokens.ENCODING).encode_ordinary(text))


def test_bounds_contain_the_exact_count():
    rng = random.Random(7)
    alphabet = "abcdefghij klmn\n\t.,;:!?()[]{}<>éü日本🎉0123456789"
    samples = list(SAMPLES) + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3000))) for _ in range(40)]
    for text in samples:
        b = tokens.bounds(text.encode("utf-8"))
        exact = _exact(text)
        assert b.lower <= exact <= b.upper, (text[:40], b, exact)


def test_chunked_exact_count_equals_whole_count():
    rng = random.Random(3)
    words = ["alpha", "beta", "  gamma", "\n", "\n\n", "delta.", "ε", "x=1;", "\t"]
    text = "".join(rng.choice(words) + rng.choice(["", " ", "  "]) for _ in range(60_000))
    pieces = tokens._pieces(text, size=10_000)
    assert len(pieces) > 5 and "".join(pieces) == text
    assert tokens.count_exact(text) == _exact(text)


def test_exact_count_only_when_a_threshold_is_undecided():
    data = b"hello there"
    assert not tokens.count([data], [1000, 50_000]).is_exact
    assert tokens.count([data], [3]).is_exact
    assert tokens.count([data], [1000], force_exact=True).exact == 2


def test_word_bound_is_the_same_across_slices(monkeypatch):
    monkeypatch.setattr(tokens, "_BOUNDS_SLICE", 7)
    for text in ["one two three four five six seven", "  lead  and trail  ", "abcdefghijklmnop qr", "x y"]:
        assert tokens.bounds(text.encode()).lower == len(text.split())
    parts = [b"instruction here", b"\n\n", b"--- a.txt ---\n", b"body of a"]
    assert tokens.bounds_of(parts).lower == len(b"".join(parts).split())


@pytest.mark.process
def test_offline_encoding_needs_no_network():
    # No network and an empty cache dir: the offline file must still load, and fast.
    code = (
        "import os, socket\n"
        "def no_net(*a, **k): raise OSError('network disabled in test')\n"
        "socket.socket.connect = no_net\n"
        "from routecli.routing.tokens import count_exact\n"
        "print(count_exact('hello world'))\n"
    )
    env = {"TIKTOKEN_CACHE_DIR": "/nonexistent-cache", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"
