"""The policy's compiled regular expressions kept between runs (routecli/policy/regex_cache.py)."""

from __future__ import annotations

import marshal
import re
import zlib

import pytest

from routecli.policy import regex_cache
from routecli.policy.load import load_policy
from routecli.policy.regex_cache import RegexCache

FLAGS = re.IGNORECASE | re.MULTILINE
PATTERNS = [r"\bdrop\s+table\b", r"(?P<verb>delete|remove)\s+(all|every)", r"\d{3}-\d{4}", "über|straße"]
TEXTS = ["DROP  TABLE users", "please Remove every file", "call 555-1234", "ÜBER alles", "nothing here"]


def _spans(pattern: re.Pattern[str]) -> list[tuple[int, int] | None]:
    return [m.span() if (m := pattern.search(text)) else None for text in TEXTS]


def _fill(path) -> None:
    cache = RegexCache(path)
    for pattern in PATTERNS:
        cache.compile(pattern, FLAGS)
    cache.save()


def test_a_second_run_takes_the_patterns_from_the_cache(tmp_path, monkeypatch):
    path = tmp_path / "policy.regex"
    _fill(path)
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled again: the cache was not used")

    monkeypatch.setattr(regex_cache.re, "compile", no_compiling)
    cache = RegexCache(path)
    found = [cache.compile(pattern, FLAGS) for pattern in PATTERNS]
    monkeypatch.undo()
    for pattern, cached in zip(PATTERNS, found, strict=True):
        fresh = re.compile(pattern, FLAGS)
        assert cached == fresh  # patterns compare by flags, text and compiled code
        assert _spans(cached) == _spans(fresh)
        assert cached.groupindex == fresh.groupindex


def test_a_tampered_cache_is_never_trusted(tmp_path):
    """Valid marshal data with one literal changed ('d' -> 'e') but the old checksum: compiled afresh."""
    path = tmp_path / "policy.regex"
    _fill(path)
    data = path.read_bytes()
    head = len(b"route-regex-cache 1\n")
    engine, entries = marshal.loads(data[head + 4 :])
    key = (PATTERNS[0], int(FLAGS))
    flags, code, groups, group_index, index_group = entries[key]
    code = [ord("e") if op == ord("d") else op for op in code]
    entries[key] = (flags, code, groups, group_index, index_group)
    path.write_bytes(data[: head + 4] + marshal.dumps((engine, entries)))
    cached = RegexCache(path).compile(PATTERNS[0], FLAGS)
    assert cached == re.compile(PATTERNS[0], FLAGS) and cached.search("drop table")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other python"])
def test_a_damaged_or_foreign_cache_only_costs_time(tmp_path, monkeypatch, damage):
    path = tmp_path / "policy.regex"
    _fill(path)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00\xff" * 500)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        monkeypatch.setattr(regex_cache, "ENGINE", ("3.99.0 (other)", 1, 4))
    cache = RegexCache(path)
    assert cache.loaded == {}
    for pattern in PATTERNS:
        assert cache.compile(pattern, FLAGS) == re.compile(pattern, FLAGS)


def test_a_bad_pattern_still_raises_and_a_cache_that_cannot_be_written_is_fine(tmp_path):
    blocked = tmp_path / "policy.regex"
    blocked.mkdir()  # a folder where the file should be: the write fails (even for root)
    cache = RegexCache(blocked)
    with pytest.raises(re.error):
        cache.compile(r"(unclosed", FLAGS)
    cache.compile(PATTERNS[0], FLAGS)
    cache.save()  # no exception: the next run compiles again
    assert blocked.is_dir()


def test_the_policy_is_the_same_from_the_cache(tmp_path):
    config, cache_dir = tmp_path / "config", tmp_path / "cache"
    first = load_policy(None, config, cache_dir)
    assert (cache_dir / "policy.regex").exists()
    second = load_policy(None, config, cache_dir)
    rules = [(r.name, r.patterns) for r in first.classification.rules]
    assert rules == [(r.name, r.patterns) for r in second.classification.rules]
    assert [h.pattern for h in first.complexity.hints] == [h.pattern for h in second.complexity.hints]
    checksum = zlib.crc32((cache_dir / "policy.regex").read_bytes())
    load_policy(None, config, cache_dir)
    assert zlib.crc32((cache_dir / "policy.regex").read_bytes()) == checksum  # nothing new: not rewritten


def test_internals_that_disagree_with_re_compile_are_never_cached(tmp_path, monkeypatch):
    """If the parser this module calls ever disagreed with re.compile, nothing would be stored."""
    real_parse = regex_cache._parser.parse

    class OtherParser:
        @staticmethod
        def parse(pattern: str, flags: int):
            return real_parse("something else", flags)

    monkeypatch.setattr(regex_cache, "_parser", OtherParser)
    _fill(tmp_path / "policy.regex")
    monkeypatch.undo()
    cache = RegexCache(tmp_path / "policy.regex")
    assert cache.compile(PATTERNS[0], FLAGS) == re.compile(PATTERNS[0], FLAGS)
