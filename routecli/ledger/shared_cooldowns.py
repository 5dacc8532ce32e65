"""Cooldowns a team shares: with a shared ledger, a provider put in cooldown by one user's failure is skipped by
every user until it expires. They live in the database's `cooldowns` table (key, until, reason), the same
entries as the local file of ledger/cooldowns.py, which stays the store for the personal ledger and the
fallback when the database cannot be reached: a cooldown is worth a retry at most, never a blocked call.

`until` is the failing machine's clock; machines a few seconds apart only move a cooldown by as much.
"""

from __future__ import annotations

import time

from routecli.errors import LedgerError
from routecli.ledger import cooldowns
from routecli.ledger.cooldowns import Cooldown
from routecli.paths import Paths


def load(paths: Paths, now: float | None = None) -> dict[str, Cooldown]:
    """The cooldowns in force: this machine's file, and with a shared ledger the team's too (the later wins)."""
    now = time.time() if now is None else now
    found = cooldowns.load(paths.cooldowns, now)
    if paths.ledger_url is None:
        return found
    from routecli.ledger.target import ledger_target  # only with a shared ledger: a personal one reads a file

    try:
        with ledger_target(paths).open(readonly=True) as ledger:
            rows = ledger.query("SELECT key, until, reason FROM cooldowns WHERE until > ?", (now,))
    except LedgerError:
        return found  # away: this machine's own memory
    for key, until, reason in rows:
        if cooldowns.in_force(float(until), now) and (key not in found or found[key].until < until):
            found[key] = Cooldown(float(until), str(reason))
    return found


def add(paths: Paths, key: str, seconds: float, reason: str) -> None:
    """Start (or extend) a cooldown for everyone; best effort, like cooldowns.add, into which it falls back."""
    if paths.ledger_url is not None:
        from routecli.ledger.target import ledger_target

        until = time.time() + seconds
        try:
            with ledger_target(paths).open() as ledger:
                ledger.query(
                    "INSERT INTO cooldowns (key, until, reason) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
                    "SET until = EXCLUDED.until, reason = EXCLUDED.reason WHERE cooldowns.until < EXCLUDED.until "
                    "RETURNING key",
                    (key, until, reason),
                )
            return
        except LedgerError:
            pass  # the database is away: remember it here at least
    cooldowns.add(paths.cooldowns, key, seconds, reason)
