"""What this machine last read of a shared ledger's spend, so that a database that cannot be reached never
blocks a call: budgets are then checked against the figures kept here, and a notice says so."""

from __future__ import annotations

import contextlib
import json
import time
from decimal import Decimal
from pathlib import Path

from routecli.errors import LedgerError
from routecli.ledger.target import LedgerTarget
from routecli.paths import write_private


def spent(target: LedgerTarget, starts: tuple[float, float]) -> tuple[Decimal, Decimal, str | None]:
    """(today, this month) from the database, remembered; or the remembered figures when it is away."""
    cache = target.path.with_name(target.path.name + ".spend.json")
    try:
        with target.open(readonly=True) as ledger:
            today, month = ledger.spent_since(starts[0]), ledger.spent_since(starts[1])
    except LedgerError as error:
        known = _read(cache, starts)
        if known is None:
            return (
                Decimal(0),
                Decimal(0),
                f"{error.message}; no spend is known on this machine, so budgets count from $0",
            )
        today, month, when = known
        stamp = time.strftime("%H:%M", time.localtime(when))
        return today, month, f"{error.message}; budgets were checked against what this machine last read ({stamp})"
    figures = {"at": time.time(), "starts": list(starts), "today": str(today), "month": str(month)}
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the fallback figures
        write_private(cache, json.dumps(figures))
    return today, month, None


def _read(cache: Path, starts: tuple[float, float]) -> tuple[Decimal, Decimal, float] | None:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        today = Decimal(data["today"]) if data["starts"][0] == starts[0] else Decimal(0)  # a new day starts at 0
        month = Decimal(data["month"]) if data["starts"][1] == starts[1] else Decimal(0)
        return today, month, float(data["at"])
    except (OSError, ValueError, KeyError, TypeError, IndexError, ArithmeticError):
        return None
