"""Moving rows into the ledger on demand: `route ledger sync` (the rows waiting on this machine, now) and
`route ledger import FILE.sqlite3` (a personal SQLite ledger into the shared one, without duplicates)."""

from __future__ import annotations

from pathlib import Path

from routecli.errors import LedgerError, UsageError
from routecli.ledger.pending_files import pending_rows
from routecli.ledger.record import import_pending
from routecli.ledger.store import COLUMNS, Ledger
from routecli.ledger.target import LedgerTarget
from routecli.values import frozen

_BATCH = 2_000  # rows per transaction: a big personal ledger is read and sent in bounded memory


@frozen
class Transfer:
    stored: int  # rows the ledger did not have
    skipped: int  # rows it had already (an attempt is stored once)
    waiting: int = 0  # rows still pending on this machine
    notices: tuple[str, ...] = ()  # unreadable pending lines set aside

    def as_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "skipped": self.skipped, "waiting": self.waiting}


def sync(target: LedgerTarget) -> Transfer:
    """Send the pending rows now; a ledger that cannot be reached is a LedgerError and the rows stay."""
    with target.open() as ledger:
        imported = import_pending(ledger)
    waiting = sum(rows for _, rows in pending_rows(target.path))
    return Transfer(imported.stored, imported.read - imported.stored, waiting, imported.notices)


def import_ledger(target: LedgerTarget, source: Path) -> Transfer:
    """Copy every attempt of a personal ledger into the shared one; importing twice adds nothing the second time
    (the shared ledger's unique index on request, chain position, try, stage and start time)."""
    if not target.shared:
        raise UsageError("route ledger import copies a personal ledger into a shared one: set ROUTE_LEDGER_URL first")
    if not source.is_file():
        raise UsageError(f"no ledger file at {source}")
    stored = read = 0
    with Ledger(source, readonly=True) as personal, target.open() as shared:
        have = {row[1] for row in personal.query("PRAGMA table_info(attempts)")}
        if not have:
            raise LedgerError(f"{source} has no attempts table: not a route ledger")
        # An older personal ledger lacks the newer columns: they come across empty.
        select = ", ".join(column if column in have else "NULL" for column in COLUMNS)
        last_id = 0
        while True:
            batch = personal.query(
                f"SELECT id, {select} FROM attempts WHERE id > ? ORDER BY id LIMIT {_BATCH}", (last_id,)
            )
            if not batch:
                break
            last_id = batch[-1][0]
            stored += shared.write_values([row[1:] for row in batch])
            read += len(batch)
    return Transfer(stored, read - stored)
