"""The policy's regular expressions, compiled once and kept between runs.

The default policy's ~66 patterns cost ~14 ms to compile on every `route explain`, nearly all of it in the
pure-Python parser of the `re` module. A compiled pattern cannot be pickled (pickling compiles it again),
but what the parser produces is a list of integers that the regex engine (`_sre.compile`) turns into a
pattern in microseconds. This module keeps those lists in the cache folder, keyed by the exact Python build
and the engine's version (`_sre.MAGIC`), behind a checksum.

It can only save time, never change a match: an entry is stored only after the pattern it rebuilds has
been checked equal to `re.compile`'s own (patterns compare by their compiled code), and anything unexpected
(another Python, a damaged file, an engine without these internals) falls back to `re.compile`.
"""

from __future__ import annotations

import contextlib
import marshal
import re
import sys
import zlib
from pathlib import Path
from typing import Any

from routecli.paths import write_private

try:  # CPython's regex internals; without them (another Python) every pattern is simply compiled
    import _sre
    from re import _compiler, _parser

    ENGINE = (sys.version, _sre.MAGIC, _sre.CODESIZE)
except (ImportError, AttributeError):
    ENGINE = None

_MAGIC = b"route-regex-cache 1\n"
Entry = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


class RegexCache:
    """`compile` like re.compile; `save` writes what this run compiled, if that changed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.loaded: dict[tuple[str, int], Entry] = _read(path) if path and ENGINE else {}
        self.used: dict[tuple[str, int], Entry] = {}

    def compile(self, pattern: str, flags: int) -> re.Pattern[str]:
        """re.compile(pattern, flags), raising re.error for a bad pattern just as it does."""
        key = (pattern, int(flags))
        entry = self.loaded.get(key)
        if entry is not None:
            with contextlib.suppress(Exception):  # the engine refused the code: compile it after all
                compiled = _sre.compile(pattern, *entry)
                self.used[key] = entry
                return compiled
        compiled = re.compile(pattern, flags)
        if ENGINE is not None:
            entry = _entry(pattern, int(flags), compiled)
            if entry is not None:
                self.used[key] = entry
        return compiled

    def save(self) -> None:
        """Best effort: a cache that cannot be written only costs the next run the time to compile."""
        if self.path is None or ENGINE is None or not self.used or self.used == self.loaded:
            return
        payload = marshal.dumps((ENGINE, self.used))
        with contextlib.suppress(OSError):
            write_private(self.path, _MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)


def _entry(pattern: str, flags: int, compiled: re.Pattern[str]) -> Entry | None:
    """What `_sre.compile` needs to rebuild `compiled`, or None if the rebuilt pattern would differ."""
    try:
        parsed = _parser.parse(pattern, flags)
        code = [int(op) for op in _compiler._code(parsed, flags)]
        group_index = {str(name): int(index) for name, index in parsed.state.groupdict.items()}
        index_group: list[str | None] = [None] * parsed.state.groups
        for name, index in group_index.items():
            index_group[index] = name
        entry: Entry = (int(flags | parsed.state.flags), code, parsed.state.groups - 1, group_index, tuple(index_group))
        return entry if _sre.compile(pattern, *entry) == compiled else None
    except Exception:  # internals that differ from what this module expects: no cache, same result
        return None


def _read(path: Path) -> dict[tuple[str, int], Entry]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    head, checksum, payload = data[: len(_MAGIC)], data[len(_MAGIC) : len(_MAGIC) + 4], data[len(_MAGIC) + 4 :]
    if head != _MAGIC or zlib.crc32(payload).to_bytes(4, "big") != checksum:
        return {}
    try:
        engine, entries = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return {}
    if engine != ENGINE or not isinstance(entries, dict):
        return {}
    return {key: entry for key, entry in entries.items() if _well_formed(key, entry)}


def _well_formed(key: Any, entry: Any) -> bool:
    return (
        isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str) and isinstance(key[1], int)
        and isinstance(entry, tuple) and len(entry) == 5
        and isinstance(entry[0], int) and isinstance(entry[1], list) and isinstance(entry[2], int)
        and isinstance(entry[3], dict) and isinstance(entry[4], tuple)
    )
