"""The cost ledger in PostgreSQL, shared by a team: the same rows, rollup and reports as the SQLite ledger.

`PgLedger` is a `Ledger` whose connection is PostgreSQL's (psycopg 3, the optional extra `routecli[postgres]`):
it inherits the report logic (aggregate over the rollup and the days a range cuts) and overrides only what the
dialects do differently: opening and migrating, writing, placeholders, boolean sums and the list of days.

- The password comes from the URL in the environment, PGPASSWORD or ~/.pgpass (libpq reads those); a URL is
  only ever shown masked (`masked_url`).
- Connecting gives up after CONNECT_TIMEOUT_S, so an unreachable database costs seconds, not a hung call: the
  caller then keeps the rows pending (ledger/record.py), as for an unwritable SQLite ledger.
- A run opens the ledger up to five times (spend, reservation, write-ahead, settle, cooldowns): a connection
  closed in a clean state is kept for the next open in this process (`_Idle`), so a remote database's connect,
  TLS handshake and schema check are paid once per run, not five times.
- An attempt is stored once: the unique index on (request, chain position, try, stage, start time) makes a
  re-sent pending file or a re-imported personal ledger add nothing (ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from routecli.errors import LedgerError, LedgerUnreachable
from routecli.ledger import store
from routecli.ledger.pg_schema import PG_MIGRATIONS, PG_RAW_SUMS, PG_SCHEMA_VERSION, ROLLUP_KEYS
from routecli.ledger.store import Ledger

CONNECT_TIMEOUT_S = 3
UNACKED_S = 15  # data sent and not acknowledged for this long: the connection is gone
_MAX_PARAMS = 30_000  # parameters in one INSERT (PostgreSQL takes up to 65,535)
INSTALL_HINT = "the PostgreSQL ledger needs psycopg: pip install 'routecli[postgres]'"
# Every process migrating at once takes this lock first; one migrates, the others then see the new version.
_MIGRATION_LOCK = 0x726F757465  # "route"


def is_postgres_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def masked_url(url: str) -> str:
    """The URL with any password (user:PASSWORD@ or ?password=) replaced by ***, for messages, `route paths` and
    `route doctor`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(a URL that cannot be read)"
    netloc = parts.netloc
    if password is not None:
        netloc = f"{parts.netloc.rpartition('@')[0].split(':', 1)[0]}:***@{parts.netloc.rpartition('@')[2]}"
    query = re.sub(r"(?i)(^|&)(password)=[^&]*", r"\1\2=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@functools.cache
def _unreachable() -> dict[str, str]:
    """The databases this process (one run) could not reach, with why: it does not wait for them again."""
    return {}


def _tcp_limits() -> dict[str, int]:
    """A query on a connection whose network vanished fails after UNACKED_S rather than the kernel's ~15 minutes
    (libpq 12+ has tcp_user_timeout; an older one is left as it is)."""
    import psycopg

    return {"tcp_user_timeout": UNACKED_S * 1000} if psycopg.pq.version() >= 120000 else {}


class _Idle:
    """Connections this process opened and no ledger is using, per URL. Taken by one ledger at a time (map-reduce
    writes from several threads), and only in a clean state: not closed, no transaction left open or failed, and
    idle for less than REUSE_WITHIN_S (a `route chat` turn minutes later connects afresh rather than find that a
    server or a firewall dropped the connection meanwhile)."""

    REUSE_WITHIN_S = 30.0

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.waiting: dict[str, list[tuple[Any, float]]] = {}
        self.exit_hook = False

    def take(self, url: str) -> Any | None:
        import time

        with self.lock:
            waiting = self.waiting.get(url, [])
            while waiting:
                conn, since = waiting.pop()
                if _clean(conn) and time.monotonic() - since < self.REUSE_WITHIN_S:
                    return conn
                _close(conn)
        return None

    def give_back(self, url: str, conn: Any) -> None:
        import time

        if not _clean(conn):
            _close(conn)
            return
        with self.lock:
            waiting = self.waiting.setdefault(url, [])
            if any(kept is conn for kept, _ in waiting):
                return  # a ledger closed twice
            if not self.exit_hook:  # closed when the run ends, so the server sees a clean goodbye
                import atexit

                atexit.register(self.close_all)
                self.exit_hook = True
            waiting.append((conn, time.monotonic()))

    def close_all(self) -> None:
        with self.lock:
            for waiting in self.waiting.values():
                for conn, _ in waiting:
                    _close(conn)
            self.waiting.clear()


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def _clean(conn: Any) -> bool:
    from psycopg.pq import TransactionStatus

    try:
        return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
    except Exception:  # a connection that cannot even say its state is not worth keeping
        return False


_idle = _Idle()


def _placeholders(sql: str) -> str:
    """The reports' SQLite-style `?` placeholders as psycopg's `%s` (a literal % doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgLedger(Ledger):
    """An open PostgreSQL ledger. `local` is the SQLite-ledger path this machine would use: the pending rows
    that could not reach the database wait beside it (record.pending_path), so they are found and sent later."""

    ROLLUP_KEYS = ROLLUP_KEYS
    ROLLUP_EMPTY_AS_NULL = ("task", "profile", "user_name", "host", "tag")
    RAW_SUMS = PG_RAW_SUMS

    def __init__(self, url: str, local: Path, readonly: bool = False) -> None:
        self.url = url
        super().__init__(local, readonly)

    def __repr__(self) -> str:
        return f"PgLedger({masked_url(self.url)})"

    # --- opening and migrating ---------------------------------------------------------------------

    def _open(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise LedgerError(INSTALL_HINT) from None
        unreachable = _unreachable()
        if self.url in unreachable:  # one wait per run: a run opens the ledger up to five times
            raise LedgerUnreachable(unreachable[self.url])
        kept = _idle.take(self.url)
        if kept is not None:
            return kept  # connected and migrated by an earlier open in this run
        try:
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, **_tcp_limits())
        except psycopg.Error as error:
            unreachable[self.url] = f"cannot reach the ledger database {masked_url(self.url)}: {_first_line(error)}"
            raise LedgerUnreachable(unreachable[self.url]) from None
        try:
            # Read-only too: a new database gets its tables on first use, whichever command comes first.
            self._migrate(conn)
        except psycopg.Error as error:
            conn.close()
            raise LedgerError(f"cannot open the ledger database {masked_url(self.url)}: {_first_line(error)}") from None
        return conn

    @staticmethod
    def _version(conn: Any) -> int:
        import psycopg

        try:  # one round trip in the usual case (part of the time every recorded call pays)
            row = conn.execute("SELECT version FROM route_schema").fetchone()
        except psycopg.errors.UndefinedTable:  # a new database (outside a transaction: nothing to roll back)
            return 0
        return int(row[0]) if row else 0

    def _check_pg_version(self, version: int) -> int:
        if version > PG_SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger database {masked_url(self.url)} has schema version {version}, newer than this route "
                f"({PG_SCHEMA_VERSION}); upgrade route"
            )
        return version

    def _migrate(self, conn: Any) -> None:  # type: ignore[override]
        if self._check_pg_version(self._version(conn)) == PG_SCHEMA_VERSION:
            return  # the usual case: one query, no lock
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS route_schema (version INTEGER NOT NULL)")
            version = self._version(conn)
            if version == 0 and conn.execute("SELECT count(*) FROM route_schema").fetchone()[0] == 0:
                conn.execute("INSERT INTO route_schema VALUES (0)")
            while version < PG_SCHEMA_VERSION:
                for statement in PG_MIGRATIONS[version]:
                    conn.execute(statement)
                version += 1
                conn.execute("UPDATE route_schema SET version = %s", (version,))

    def schema_version(self) -> int:
        import psycopg

        try:
            return self._version(self.conn)
        except psycopg.Error as error:  # e.g. a kept connection the server has closed since (a restart)
            raise LedgerError(f"cannot read the ledger database {masked_url(self.url)}: {_first_line(error)}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection must not hide what broke it
            _idle.give_back(self.url, self.conn)

    # --- writing and reading -----------------------------------------------------------------------

    def write_values(self, values: Sequence[tuple[Any, ...]], admit: Callable[[Ledger], None] | None = None) -> int:
        """Store the rows in one transaction; returns how many were new (an attempt already here is skipped).
        No `admit`: a shared ledger admits whole requests by reservation (run/budget_hold.py), not per row."""
        assert admit is None, "a shared ledger reserves budgets in run/budget_hold.py"
        if not values:
            return 0
        import psycopg

        columns = store.COLUMNS  # read now: a write-ahead branch adds attempt_id to it
        rows = [_fit(row) for row in values]
        keyed: list[tuple[Any, ...]] = []
        if "attempt_id" in columns:  # a row with an attempt_id settles the one written ahead (an upsert)
            at = columns.index("attempt_id")
            keyed = [row for row in rows if row[at] is not None]
            rows = [row for row in rows if row[at] is None]
        try:
            if not keyed and len(rows) * len(columns) <= _MAX_PARAMS:
                # One statement is one transaction: a request's attempts in one round trip, all or none.
                sql = _insert_sql(columns, len(rows))
                cursor = self.conn.execute(sql, [value for row in rows for value in row])
                return max(cursor.rowcount, 0)
            stored = 0
            with self.conn.transaction(), self.conn.cursor() as cursor:  # all of a request's attempts or none
                for sql, batch in ((_insert_sql(columns), rows), (_upsert_sql(columns), keyed)):
                    if batch:
                        cursor.executemany(sql, batch)
                        stored += max(cursor.rowcount, 0)  # psycopg sums executemany's row counts
            return stored
        except psycopg.Error as error:
            raise LedgerError(
                f"cannot write to the ledger database {masked_url(self.url)}: {_first_line(error)}"
            ) from None

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            return self.conn.execute(_placeholders(sql), tuple(params)).fetchall()
        except psycopg.Error as error:
            raise LedgerError(f"cannot read the ledger database {masked_url(self.url)}: {_first_line(error)}") from None

    def _has_rollup(self) -> bool:
        return True  # every PostgreSQL schema version has it

    def _days_clause(self, days: list[str]) -> tuple[str, Any]:
        return "day = ANY(?)", days


def _insert_sql(columns: Sequence[str], rows: int = 1) -> str:
    """INSERT of `rows` rows; one already stored (the same attempt: attempts_once) is skipped."""
    one = f"({', '.join('%s' for _ in columns)})"
    return f"INSERT INTO attempts ({', '.join(columns)}) VALUES {', '.join([one] * rows)} ON CONFLICT DO NOTHING"


def _upsert_sql(columns: Sequence[str]) -> str:
    """Insert, or settle the row written ahead with the same attempt_id (the AFTER UPDATE trigger moves its
    rollup totals); a row sent again unchanged updates nothing and counts as skipped."""
    names, marks = ", ".join(columns), ", ".join("%s" for _ in columns)
    others = [c for c in columns if c != "attempt_id"]
    settled = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
    old, new = ", ".join(f"attempts.{c}" for c in others), ", ".join(f"EXCLUDED.{c}" for c in others)
    return (
        f"INSERT INTO attempts ({names}) VALUES ({marks}) ON CONFLICT (attempt_id) WHERE attempt_id IS NOT NULL "
        f"DO UPDATE SET {settled} "
        f"WHERE ({old}) IS DISTINCT FROM ({new})"
    )


def _fit(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as SQLite takes it, for PostgreSQL: its text cannot hold NUL characters."""
    return tuple(value.replace("\x00", "\ufffd") if isinstance(value, str) else value for value in row)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return re.sub(r"\s+", " ", text[0]) if text else type(error).__name__
