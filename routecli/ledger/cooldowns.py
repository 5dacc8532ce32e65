"""Cooldowns that outlive the process: a provider or model that just failed is skipped until expiry.

A CLI is a new process on every call, so the memory lives in a small JSON file. Writes replace the
file atomically; a file that cannot be read is treated as empty (a lost cooldown only costs one retry).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from pathlib import Path

from routecli.paths import write_private
from routecli.values import frozen


@frozen(eq=False)
class Cooldown:
    until: float  # unix time
    reason: str


# No failure route acts on cools down for longer than an hour; an entry ending after this is damage (or a hand
# edit), not a cooldown, and would overflow the dates shown (`until: 1e20`).
LONGEST_S = 7 * 24 * 3600


def in_force(until: float, now: float) -> bool:
    """A cooldown ending at `until` keeps its model out now: it ends in the future, and not absurdly far."""
    return math.isfinite(until) and now < until <= now + LONGEST_S


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
            except (KeyError, TypeError, ValueError, OverflowError):
                continue
            if in_force(until, now):
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


def scope(key: str) -> tuple[str, str]:
    """("provider", NAME) or ("model", ALIAS): what a cooldown's key keeps out."""
    kind, _, name = key.partition(":")
    return (kind, name) if name else ("model", key)


def clear(path: Path, keys: Iterable[str] | None = None) -> list[str]:
    """Forget the given cooldowns (all when `keys` is None); the keys that were in force, in file order.
    Unlike `add`, a failure to write is raised (OSError): the person asked for this and must know."""
    wanted = None if keys is None else set(keys)
    entries = load(path)
    removed = [key for key in entries if wanted is None or key in wanted]
    if removed:
        _save(path, {key: entry for key, entry in entries.items() if key not in removed})
    return removed
