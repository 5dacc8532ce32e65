"""Recording a request's rows: into the ledger when it can take them, else into a pending file that the next
successful run imports, so nothing recorded is lost; and the spend the budgets are checked against."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from routecli.errors import LedgerError
from routecli.ledger.store import COLUMNS, Ledger, Row
from routecli.paths import append_private


def pending_paths(ledger_path: Path) -> list[Path]:
    """Where rows wait when the ledger cannot take them: beside it, else in the temp folder."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return [
        ledger_path.with_name(ledger_path.name + ".pending.jsonl"),
        Path(tempfile.gettempdir()) / f"route-{uid}-{_short_hash(str(ledger_path))}.pending.jsonl",
    ]


def pending_path(ledger_path: Path) -> Path:
    return pending_paths(ledger_path)[0]


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def record(path: Path, rows: Sequence[Row]) -> None:
    """Write rows, first importing any left pending by an earlier run. On failure keep them pending."""
    if not rows:
        return
    try:
        with Ledger(path) as ledger:
            _import_pending(ledger)
            ledger.write(rows)
    except LedgerError as error:
        kept = _keep_pending(path, rows)
        if kept is not None:
            raise LedgerError(
                f"{error.message} (this call is kept in {kept} until the ledger can be written)"
            ) from None
        raise


def _keep_pending(path: Path, rows: Sequence[Row]) -> Path | None:
    """Best effort: the rows a failed write could not store, as JSON lines; returns where they went."""
    for candidate in pending_paths(path):
        try:
            with append_private(candidate) as handle:
                for row in rows:
                    handle.write(json.dumps(row.as_json()) + "\n")
            return candidate
        except OSError:
            continue
    return None


def _import_pending(ledger: Ledger) -> None:
    for pending in pending_paths(ledger.path):
        if pending.exists():
            _import_one(ledger, pending)


def _import_one(ledger: Ledger, pending: Path) -> None:
    claimed = pending.with_name(f"{pending.name}.{os.getpid()}")
    try:
        os.replace(pending, claimed)  # atomic: only one process imports a given batch
    except OSError:
        return
    try:
        values = []
        for line in claimed.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError):
                data = json.loads(line)
                values.append(tuple(data.get(c) for c in COLUMNS))  # rows from older versions lack new columns
        ledger.write_values(values)
        claimed.unlink()
    except LedgerError:
        with contextlib.suppress(OSError):
            os.replace(claimed, pending)
        raise


def day_start(now: float | None = None) -> float:
    moment = datetime.fromtimestamp(now if now is not None else time.time())
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(now: float | None = None) -> float:
    moment = datetime.fromtimestamp(now if now is not None else time.time())
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def spent(path: Path, now: float | None = None) -> tuple[Decimal, Decimal]:
    """(today, this month) in USD, from the ledger; zero when there is no ledger yet."""
    if not path.exists():
        return Decimal(0), Decimal(0)
    with Ledger(path, readonly=True) as ledger:
        return ledger.spent_since(day_start(now)), ledger.spent_since(month_start(now))
