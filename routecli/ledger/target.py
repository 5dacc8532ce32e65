"""Which ledger a run writes to and reads from: the user's SQLite file (the default), or a PostgreSQL database a
team shares (`ROUTE_LEDGER_URL=postgresql://...`). Everything that opens the ledger goes through `open()`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from routecli.errors import LedgerError, UsageError
from routecli.ledger.store import Ledger
from routecli.paths import Paths
from routecli.values import frozen


@frozen
class LedgerTarget:
    path: Path  # the SQLite ledger; with a URL, the local name beside which rows wait when the database is away
    url: str | None = None  # postgresql://... : the shared ledger

    @property
    def shared(self) -> bool:
        return self.url is not None

    def exists(self) -> bool:
        """Is there a ledger to read? A database is asked (and created) when opened; a file may not exist yet."""
        return self.url is not None or self.path.exists()

    def open(self, readonly: bool = False) -> Ledger:
        if self.url is None:
            return Ledger(self.path, readonly)
        from routecli.ledger.pg_store import PgLedger  # psycopg is imported only for a shared ledger

        return PgLedger(self.url, self.path, readonly)

    def describe(self) -> str:
        """For messages and `route paths`: the file, or the URL with its password masked."""
        if self.url is None:
            return str(self.path)
        from routecli.ledger.pg_store import masked_url

        return masked_url(self.url)


def ledger_target(paths: Paths, need_driver: bool = True) -> LedgerTarget:
    """The ledger of this run: ROUTE_LEDGER_URL's database when set, else the file in the data folder.
    A shared ledger without its driver installed is a LedgerError (exit 8) here, before any call is sent, so
    that no call runs unrecorded; `route paths` and `route doctor` pass need_driver=False to show it instead."""
    if paths.ledger_url is None:
        return LedgerTarget(paths.ledger)
    from routecli.ledger.pg_store import INSTALL_HINT, is_postgres_url, masked_url

    if not is_postgres_url(paths.ledger_url):
        raise UsageError(f"ROUTE_LEDGER_URL must be a postgresql:// URL, not '{masked_url(paths.ledger_url)}'")
    if need_driver and importlib.util.find_spec("psycopg") is None:  # cheap: finds, does not import
        raise LedgerError(INSTALL_HINT)
    return LedgerTarget(paths.shared_ledger_stand_in, paths.ledger_url)
