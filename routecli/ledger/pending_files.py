"""Where a ledger's rows wait when it cannot take them (`ledger/record.py` writes and imports them), how many
wait, and what they cost: budgets count the spend still waiting too. Light to import: run/state.py asks whether
any rows wait before it opens a ledger at all."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path


def pending_path(ledger_path: Path) -> Path:
    """THE file where rows wait when the ledger cannot take them: beside the ledger when its folder can be
    written, else in the system's temporary folder (named after the ledger's path, so always the same one).
    `record`, the import, `route paths`, `route doctor` and `route costs` all use this."""
    beside = ledger_path.with_name(ledger_path.name + ".pending.jsonl")
    return beside if _folder_writable(ledger_path.parent) else _temp_pending(ledger_path)


def pending_paths(ledger_path: Path) -> list[Path]:
    """THE pending path first, then the other place rows may have been left (by a run that saw the folder
    read-only, or one whose write beside the ledger failed); the import drains both."""
    beside = ledger_path.with_name(ledger_path.name + ".pending.jsonl")
    first = pending_path(ledger_path)
    return [first, _temp_pending(ledger_path) if first == beside else beside]


def pending_rows(ledger_path: Path) -> list[tuple[Path, int]]:
    """Each pending file that exists, THE pending path first, with its number of rows (an attempt written
    ahead and then settled there is two lines and one row)."""
    found = []
    for candidate in pending_paths(ledger_path):
        with contextlib.suppress(OSError), candidate.open(encoding="utf-8", errors="replace") as handle:
            found.append((candidate, _count_rows(handle)))
    return found


def _count_rows(lines: Iterable[str]) -> int:
    attempts: set[str] = set()
    count = 0
    for line in lines:
        if not line.strip():
            continue
        attempt_id = None
        with contextlib.suppress(ValueError, AttributeError):
            attempt_id = json.loads(line).get("attempt_id")
        if attempt_id is None or attempt_id not in attempts:
            count += 1
        if attempt_id is not None:
            attempts.add(attempt_id)
    return count


def _temp_pending(ledger_path: Path) -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"route-{uid}-{_short_hash(str(ledger_path))}.pending.jsonl"


def _folder_writable(folder: Path) -> bool:
    """The folder can be written, or created: its nearest existing ancestor is a writable folder."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _counted_places(ledger_path: Path) -> list[Path]:
    """The pending files whose rows the spend read before a call counts: beside the ledger, and the temporary
    folder's when the ledger's folder cannot be written. (Naming that one imports hashlib, ~5 ms of `route
    explain`; with a writable folder, rows left there are imported, and so counted, when the call is written
    ahead, ledger/admission.py.)"""
    beside = ledger_path.with_name(ledger_path.name + ".pending.jsonl")
    return [beside] if _folder_writable(ledger_path.parent) else [beside, _temp_pending(ledger_path)]


def any_waiting(ledger_path: Path) -> bool:
    """Whether rows wait for a ledger that does not exist (yet)."""
    return any(candidate.exists() for candidate in _counted_places(ledger_path))


def pending_spend(ledger_path: Path, starts: tuple[float, float]) -> tuple[Decimal, Decimal]:
    """(since starts[0], since starts[1]) in USD of the rows waiting in pending files: an attempt written ahead
    and then settled there counts once, at its settled cost; unreadable lines count nothing."""
    from routecli.ledger.pending_line import row_values
    from routecli.ledger.store import COLUMNS
    from routecli.waiting_lines import read_lines

    ts, cost, attempt = COLUMNS.index("ts"), COLUMNS.index("cost_usd"), COLUMNS.index("attempt_id")
    latest: dict[object, tuple[float, Decimal]] = {}
    for candidate in _counted_places(ledger_path):
        try:
            rows = read_lines(candidate, row_values).items
        except OSError:
            continue
        for number, values in enumerate(rows):
            key = values[attempt] if values[attempt] is not None else (candidate, number)
            latest[key] = (float(values[ts]), Decimal(values[cost] or 0))
    today = sum((usd for when, usd in latest.values() if when >= starts[0]), Decimal(0))
    month = sum((usd for when, usd in latest.values() if when >= starts[1]), Decimal(0))
    return today, month
