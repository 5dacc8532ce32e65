"""Recording a request's rows: into the ledger when it can take them, else into a pending file that the next
successful run imports, so nothing recorded is lost; and the spend the budgets are checked against."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from routecli.errors import DamagedLedgerError, LedgerError
from routecli.ledger.pending_files import (  # noqa: F401 - pending_path, pending_rows: their old home
    pending_path,
    pending_paths,
    pending_rows,
    pending_spend,
)
from routecli.ledger.pending_line import row_values
from routecli.ledger.store import Ledger, Row
from routecli.ledger.target import LedgerTarget
from routecli.paths import append_private, private_dir
from routecli.values import frozen
from routecli.waiting_lines import abandoned, claim, keep_aside, put_back, read_lines, unreadable_notice


@frozen
class Recorded:
    """What recording a request's rows has to say: `notices` (a ledger repaired, unreadable pending lines set
    aside), and `waiting`, the notice of a shared ledger away, whose rows wait on this machine."""

    notices: tuple[str, ...] = ()
    waiting: str | None = None


def record(target: LedgerTarget, rows: Sequence[Row], admit: Callable[[Ledger], None] | None = None) -> Recorded:
    """Write rows, first importing any left pending by an earlier run. On failure keep them pending.
    A damaged ledger is set aside and rebuilt from its readable rows; a notice says so.
    A shared ledger that cannot be reached never fails the call: the rows wait, and `waiting` says where.
    `admit` may refuse the rows inside their write transaction (BudgetError: nothing written, nothing kept)."""
    if not rows:
        return Recorded()
    notices: list[str] = []
    try:
        try:
            notices = _write(target, rows, admit)
        except DamagedLedgerError as error:
            from routecli.ledger.salvage import repair

            notices = [repair(target.path, _reason(error)), *_write(target, rows, admit)]
    except LedgerError as error:
        kept = _keep_pending(target.path, rows)
        if kept is not None and target.shared:
            waits = f"{error.message}; this call waits in {kept} and is sent on the next run that reaches it"
            return Recorded(tuple(notices), waits)
        if kept is not None:
            raise LedgerError(
                f"{error.message} (this call is kept in {kept} until the ledger can be written)"
            ) from None
        raise
    return Recorded(tuple(notices))


def _write(target: LedgerTarget, rows: Sequence[Row], admit: Callable[[Ledger], None] | None = None) -> list[str]:
    """Returns notices about the rows that were waiting (unreadable lines set aside)."""
    with target.open() as ledger:
        imported = import_pending(ledger)
        ledger.write(rows, admit)
    return list(imported.notices)


def _reason(error: LedgerError) -> str:
    """'file is not a database' out of the store's message."""
    text = error.message
    return text[text.find("(") + 1 : text.find(")")] if "(" in text and ")" in text else "unreadable"


def _keep_pending(path: Path, rows: Sequence[Row]) -> Path | None:
    """Best effort: the rows a failed write could not store, as JSON lines; returns where they went."""
    with contextlib.suppress(OSError):  # a shared ledger's first call on this machine: no data folder yet
        private_dir(path.parent)
    for candidate in pending_paths(path):
        try:
            with append_private(candidate) as handle:
                for row in rows:
                    handle.write(json.dumps(row.as_json()) + "\n")
            return candidate
        except OSError:
            continue
    return None


@frozen
class Imported:
    stored: int  # rows the ledger did not have
    read: int  # readable rows found waiting
    notices: tuple[str, ...] = ()  # unreadable lines set aside, and where


def import_pending(ledger: Ledger) -> Imported:
    """Send the rows waiting beside the ledger; a shared ledger skips rows it already has. Batches an earlier run
    claimed and never finished (it was killed, or failed) are sent too."""
    stored = read = 0
    notices: list[str] = []
    for pending in pending_paths(ledger.path):
        for batch in ([pending] if pending.exists() else []) + abandoned(pending):
            done = _import_one(ledger, batch, pending)
            stored, read, notices = stored + done.stored, read + done.read, notices + list(done.notices)
    return Imported(stored, read, tuple(notices))


def _import_one(ledger: Ledger, batch: Path, pending: Path) -> Imported:
    """Claim `batch` (the pending file, or an abandoned claim of it) and write its rows. Lines that are not rows
    are set aside once the rest is stored; a failed write puts the batch back with the rows waiting."""
    try:
        claimed = claim(batch, pending)
        lines = read_lines(claimed, row_values)
    except OSError:
        return Imported(0, 0)
    try:
        stored = ledger.write_values(lines.items)
    except LedgerError:
        put_back(claimed, pending)
        raise
    notices: tuple[str, ...] = ()
    if lines.unreadable:
        kept = keep_aside(pending, lines.unreadable)
        notices = (unreadable_notice(len(lines.unreadable), kept, pending),)
    with contextlib.suppress(OSError):
        claimed.unlink()
    return Imported(stored, len(lines.items), notices)


def day_start(now: float | None = None) -> float:
    moment = datetime.fromtimestamp(now if now is not None else time.time())
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(now: float | None = None) -> float:
    moment = datetime.fromtimestamp(now if now is not None else time.time())
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def spent(target: LedgerTarget, now: float | None = None, repair: bool = False) -> tuple[Decimal, Decimal, str | None]:
    """(today, this month) in USD from the ledger, zero when there is no ledger yet, and a notice when the
    ledger is damaged: with `repair` (a command that records) it is set aside and rebuilt from its readable
    rows; without (`route explain`) those rows are read into memory and nothing is written. A shared ledger
    that cannot be reached gives what this machine last read from it, with a notice saying so. The rows
    waiting in pending files count too: they were spent, the ledger just could not take them yet."""
    starts = (day_start(now), month_start(now))
    if target.shared:
        from routecli.ledger import last_known

        today, month, notice = last_known.spent(target, starts)
    else:
        today, month, notice = _file_spent(target.path, starts, repair)
    waiting_today, waiting_month = pending_spend(target.path, starts)
    return today + waiting_today, month + waiting_month, notice


def _file_spent(path: Path, starts: tuple[float, float], repair: bool) -> tuple[Decimal, Decimal, str | None]:
    if not path.exists():
        return Decimal(0), Decimal(0), None
    try:
        with Ledger(path, readonly=True) as ledger:
            return ledger.spent_since(starts[0]), ledger.spent_since(starts[1]), None
    except DamagedLedgerError as error:
        from routecli.ledger import salvage

        reason = _reason(error)
    except LedgerError as error:  # not even readable (read-only too): the call goes on, the rows wait pending
        return Decimal(0), Decimal(0), f"{error.message}; its spend could not be read, so budgets count from $0"
    if repair:
        with contextlib.suppress(LedgerError):
            notice = salvage.repair(path, reason)
            with Ledger(path, readonly=True) as ledger:
                today, month = ledger.spent_since(starts[0]), ledger.spent_since(starts[1])
            return today, month, f"{notice}; budgets were checked against the salvaged rows"
    (today, month), count = salvage.salvaged_spend(path, starts)
    return (
        today,
        month,
        (
            f"the ledger {path} is damaged ({reason}); budgets were checked against the {count:,} rows "
            "that could still be read"
        ),
    )
