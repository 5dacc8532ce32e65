"""Cooldowns that outlive the process: a provider or model that just failed is skipped until expiry.

A CLI is a new process on every call, so the memory lives in a small JSON file. Writes replace the
file atomically; a file that cannot be read is treated as empty (a lost cooldown only costs one retry).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from routecli.paths import write_private


@dataclass(frozen=True, eq=False)
class Cooldown:
    until: float  # unix time
    reason: str


def load(path: Path, now: float | None = None) -> dict[str, Cooldown]:
    now = time.time() if now is None else now
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    result: dict[str, Cooldown] = {}
    if isinstance(data, dict):
        for key, entry in data.items():
            try:
                until, reason = float(entry["until"]), str(entry["reason"])
            except (KeyError, TypeError, ValueError):
                continue
            if until > now:
                result[key] = Cooldown(until, reason)
    return result


def _save(path: Path, entries: dict[str, Cooldown]) -> None:
    write_private(path, json.dumps({k: {"until": c.until, "reason": c.reason} for k, c in entries.items()}, indent=1))


def add(path: Path, key: str, seconds: float, reason: str) -> None:
    """Start (or extend) a cooldown. Best effort: failing to remember it must not fail the request."""
    try:
        now = time.time()
        entries = load(path, now)
        until = now + seconds
        if key in entries and entries[key].until > until:
            return
        entries[key] = Cooldown(until, reason)
        _save(path, entries)
    except OSError:
        pass


def clear(path: Path, key: str | None = None) -> int:
    entries = load(path)
    removed = len(entries) if key is None else int(key in entries)
    if key is None:
        entries = {}
    else:
        entries.pop(key, None)
    with contextlib.suppress(OSError):
        _save(path, entries)
    return removed
