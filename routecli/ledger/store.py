"""The cost ledger: one SQLite row per attempt, written safely by many processes at once.

- WAL journal and a busy timeout, so `xargs -P 8 route ask` loses nothing; writes retry on "locked".
- Attempts are written ahead (in flight) and settled in place after the reply (ledger/writeahead.py).
- A ledger that cannot be written (full disk, read-only folder, corrupt file) raises LedgerError; the
  rows are then kept in a pending file beside it and imported by the next run that can write.
- Costs are stored exactly (a decimal string) and as integer nano-dollars for fast sums. A model with no
  known price is stored with NULL cost: "unpriced", never $0.
- A trigger keeps running totals per day and report key (the rollup), so reports and budget checks never
  scan a million attempts.
- The schema is versioned with PRAGMA user_version; `_MIGRATIONS[n]` takes a ledger from version n to
  n + 1, so a later release opens an older ledger without loss.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from routecli.errors import DamagedLedgerError, LedgerError, RouteError
from routecli.ledger import writeahead
from routecli.ledger.facts import FACT_COLUMNS, DecisionFacts
from routecli.ledger.sqlite_schema import _MIGRATIONS, ROLLUP_VERSION
from routecli.paths import private_file
from routecli.sqlite_read import connect_readonly
from routecli.values import frozen

NANO = Decimal(1_000_000_000)
BUSY_TIMEOUT_MS = 10_000
WRITE_RETRIES = 5


# The report keys (`route costs --by`), and the sums every report row carries, in Totals' order.
KEYS = ("day", "alias", "provider", "task", "profile", "status", "command", "user_name", "host", "tag")
RAW_SUMS = (
    # Every request has exactly one first attempt (position 0, try 0): counting those counts requests
    # without COUNT(DISTINCT request_id), which costs a sort over the whole range.
    "COUNT(*), SUM(status != 'ok'), SUM(chain_position = 0 AND try_number = 0), COALESCE(SUM(input_tokens), 0), "
    "COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(cost_nano), 0), "
    "SUM(cost_nano IS NULL)"
)
_ROLLUP_SUMS = (
    "SUM(calls), SUM(failed), SUM(requests), SUM(input_tokens), SUM(output_tokens), SUM(cached_input_tokens), "
    "SUM(cost_nano), SUM(unpriced)"
)
Sums = list[int]  # calls, failed, requests, input, output, cached input tokens, cost_nano, unpriced
SCHEMA_VERSION = len(_MIGRATIONS)

COLUMNS = (
    "ts",
    "day",
    "request_id",
    "command",
    "task",
    "profile",
    "alias",
    "provider",
    "model_id",
    "reported_model_id",
    "chain_position",
    "try_number",
    "status",
    "error_kind",
    "error",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "usage_estimated",
    "cost_usd",
    "cost_nano",
    "price_source",
    "first_token_s",
    "total_s",
    "reason",
    "prompt",
    "stage",
    "first_byte_s",
    "overhead_s",
    *FACT_COLUMNS,
    "attempt_id",
    "user_name",
    "host",
    "tag",
)


@frozen
class Row:
    """One attempt as the ledger stores it. Built by `record.py` from an Attempt and its Decision."""

    ts: float
    request_id: str
    command: str
    task: str | None
    profile: str | None
    alias: str
    provider: str
    model_id: str
    reported_model_id: str | None
    chain_position: int
    try_number: int
    status: str
    error_kind: str | None
    error: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    usage_estimated: bool
    cost_usd: Decimal | None
    price_source: str | None
    first_token_s: float | None
    total_s: float | None
    reason: str | None
    prompt: str | None = None
    stage: str | None = None  # e.g. "map 3/12", "reduce final"; None for a single call
    first_byte_s: float | None = None  # request sent -> response headers
    overhead_s: float | None = None  # route's own time in this attempt, before sending and loading an SDK
    facts: DecisionFacts | None = None  # what `route replay` re-decides from
    attempt_id: str | None = None  # settles the row written ahead (ledger/writeahead.py)
    user_name: str | None = None  # who made the call (ledger/attribution.py)
    host: str | None = None
    tag: str | None = None  # --tag / ROUTE_TAG

    def values(self) -> tuple[Any, ...]:
        cost = None if self.cost_usd is None else str(self.cost_usd)
        nano = None if self.cost_usd is None else int((self.cost_usd * NANO).quantize(Decimal(1), ROUND_HALF_EVEN))
        day = datetime.fromtimestamp(self.ts).strftime("%Y-%m-%d")
        return (
            self.ts,
            day,
            self.request_id,
            self.command,
            self.task,
            self.profile,
            self.alias,
            self.provider,
            self.model_id,
            self.reported_model_id,
            self.chain_position,
            self.try_number,
            self.status,
            self.error_kind,
            self.error,
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
            int(self.usage_estimated),
            cost,
            nano,
            self.price_source,
            self.first_token_s,
            self.total_s,
            self.reason,
            self.prompt,
            self.stage,
            self.first_byte_s,
            self.overhead_s,
            *DecisionFacts.values_of(self.facts),
            self.attempt_id,
            self.user_name,
            self.host,
            self.tag,
        )

    def as_json(self) -> dict[str, Any]:
        return dict(zip(COLUMNS, self.values(), strict=True))


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    return text


def _is_locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Ledger:
    """An open ledger. Use as a context manager; every method raises LedgerError, never sqlite3 errors."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.conn = self._open()

    # --- opening and migrating ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                conn = connect_readonly(self.path, BUSY_TIMEOUT_MS / 1000)  # a read-only or full folder too
            else:
                if str(self.path) != ":memory:":  # salvage reads a damaged ledger into memory: no file at all
                    private_file(self.path)  # 0600 in a 0700 folder; SQLite's -wal and -shm take the file's mode
                # isolation_level=None: we open and commit every transaction ourselves.
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                self._migrate(conn)
            else:
                self._check_version(conn)
            return conn
        except sqlite3.DatabaseError as error:
            raise self._error("cannot open", error) from None
        except OSError as error:
            raise LedgerError(f"cannot open the ledger {self.path}: {_describe(error)}") from None

    def _error(self, action: str, error: BaseException) -> LedgerError:
        text = _describe(error)
        if "not a database" in text or "malformed" in text:
            return DamagedLedgerError(f"the ledger {self.path} is corrupt ({text}); move it aside to start a new one")
        return LedgerError(f"{action} the ledger {self.path}: {text}")

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.path} has schema version {version}, newer than this route ({SCHEMA_VERSION}); "
                "upgrade route"
            )
        return int(version)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = self._check_version(conn)
        while version < SCHEMA_VERSION:
            for attempt in range(WRITE_RETRIES):
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    current = conn.execute("PRAGMA user_version").fetchone()[0]
                    if current == version:  # no other process migrated meanwhile
                        for statement in _MIGRATIONS[version]:
                            conn.execute(statement)
                        conn.execute(f"PRAGMA user_version = {version + 1}")
                    conn.execute("COMMIT")
                    break
                except sqlite3.OperationalError as error:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    if not _is_locked(error) or attempt == WRITE_RETRIES - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            version = conn.execute("PRAGMA user_version").fetchone()[0]

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------------

    def write(self, rows: Sequence[Row], admit: Callable[[Ledger], None] | None = None) -> None:
        self.write_values([row.values() for row in rows], admit)

    def write_values(self, values: Sequence[tuple[Any, ...]], admit: Callable[[Ledger], None] | None = None) -> int:
        """`admit` runs inside the write transaction, before the rows go in, and may refuse them by raising
        (the budgets of parallel runs, ledger/admission.py): nothing is written then."""
        if not values:
            return 0
        sql = writeahead.upsert_sql(COLUMNS)
        for attempt in range(WRITE_RETRIES):
            try:
                self.conn.execute("BEGIN IMMEDIATE")  # one transaction: all of a request's attempts or none
                if admit is not None:
                    admit(self)  # holds the write lock: no other process writes between this check and the rows
                self.conn.executemany(sql, values)
                self.conn.execute("COMMIT")
                return len(values)  # the number stored
            except RouteError:  # the admission refused, or could not read: write nothing
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
            except sqlite3.DatabaseError as error:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                locked = isinstance(error, sqlite3.OperationalError) and _is_locked(error)
                if not locked or attempt == WRITE_RETRIES - 1:
                    raise self._error("cannot write to", error) from None
                time.sleep(0.05 * (attempt + 1))
        return 0  # not reached: the last try raises

    # --- reading -------------------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._error("cannot read", error) from None

    def spent_since(self, since_ts: float) -> Decimal:
        totals = self.aggregate((), since_ts, None).get((), [0] * 8)
        return Decimal(totals[6]) / NANO

    def aggregate(self, keys: Sequence[str], since: float | None, until: float | None) -> dict[tuple[Any, ...], Sums]:
        """Sums per value of `keys` (from KEYS) over attempts with since <= ts < until.

        Days lying wholly inside the range come from the rollup; the (at most two) days the range cuts are
        summed from their attempts. An older ledger opened read-only has no rollup: all from attempts.
        """
        for key in keys:
            if key not in KEYS:
                raise ValueError(key)
        if (version := self.schema_version()) < ROLLUP_VERSION and not self._has_rollup():
            return self._raw_sums(keys, since, until) if version else {}  # 0: another process is creating it
        if not set(keys) <= set(self.ROLLUP_KEYS):
            return self._raw_sums(keys, since, until)  # SQLite's rollup has no user/host/tag: one user's file
        result: dict[tuple[Any, ...], Sums] = {}
        whole: list[str] = []
        for day, low, high in self.query("SELECT day, MIN(min_ts), MAX(max_ts) FROM rollup GROUP BY day"):
            if (since is not None and high < since) or (until is not None and low >= until):
                continue  # wholly outside
            if (since is None or low >= since) and (until is None or high < until):
                whole.append(day)
            else:  # cut by the range: its own attempts, found through the ts index within the day
                _merge(result, self._raw_sums(keys, max(since or low, low), until, (day, high)))
        if whole:
            columns = [f"NULLIF({k}, '')" if k in self.ROLLUP_EMPTY_AS_NULL else k for k in keys]
            select = ", ".join([*columns, _ROLLUP_SUMS])
            group = f" GROUP BY {', '.join(columns)}" if keys else ""
            in_days, param = self._days_clause(whole)
            sql = f"SELECT {select} FROM rollup WHERE {in_days}{group}"
            _merge(result, _keyed(self.query(sql, (param,)), len(keys)))
        return result

    # --- what differs between SQL dialects (PgLedger overrides these) -----------------------------------

    ROLLUP_KEYS = KEYS[:7]  # the keys SQLite's rollup sums by
    ROLLUP_EMPTY_AS_NULL = ("task", "profile")  # rollup key columns that store NULL as ''
    RAW_SUMS = RAW_SUMS

    def _has_rollup(self) -> bool:
        return self.schema_version() >= ROLLUP_VERSION  # an older ledger opened read-only has none

    def _days_clause(self, days: list[str]) -> tuple[str, Any]:
        return "day IN (SELECT value FROM json_each(?))", json.dumps(days)

    def _raw_sums(
        self, keys: Sequence[str], since: float | None, until: float | None, day: tuple[str, float] | None = None
    ) -> dict[tuple[Any, ...], Sums]:
        """Sums from the attempts themselves; `day` = (that day, its last ts) limits the scan to one day."""
        clauses, params = [], []
        day_name, day_end = day if day else (None, None)
        for clause, value in (("ts >= ?", since), ("ts < ?", until), ("ts <= ?", day_end), ("day = ?", day_name)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        rows = self.query(f"SELECT {', '.join([*keys, self.RAW_SUMS])} FROM attempts{where}{group}", params)
        return _keyed([row for row in rows if row[len(keys)]], len(keys))  # no attempts: no row


def _keyed(rows: Iterable[tuple[Any, ...]], width: int) -> dict[tuple[Any, ...], Sums]:
    return {tuple(row[:width]): [int(v or 0) for v in row[width:]] for row in rows}


def _merge(into: dict[tuple[Any, ...], Sums], more: dict[tuple[Any, ...], Sums]) -> None:
    for key, sums in more.items():
        if key in into:
            into[key] = [a + b for a, b in zip(into[key], sums, strict=True)]
        else:
            into[key] = sums
