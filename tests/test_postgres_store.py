"""The PostgreSQL ledger against a real, throwaway server (tests/pgserver.py): the same sums as SQLite's for the
same rows, its rollup equal to a scan, migrations that many processes can run at once, each attempt stored once."""

from __future__ import annotations

import sqlite3
import threading
from itertools import combinations
from pathlib import Path

import pytest
from test_rollup import DAY, START, _rows

from routecli.errors import LedgerError
from routecli.ledger.pg_schema import PG_SCHEMA_VERSION
from routecli.ledger.pg_store import PgLedger, masked_url
from routecli.ledger.store import COLUMNS, KEYS, Ledger


def test_every_column_sqlite_writes_exists_in_postgresql(pg_url: str, tmp_path: Path):
    with PgLedger(pg_url, tmp_path / "ledger.sqlite3") as ledger:
        have = {
            row[0]
            for row in ledger.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'attempts'")
        }
    assert set(COLUMNS) <= have, set(COLUMNS) - have


def test_postgresql_sums_equal_sqlite_sums_for_the_same_rows(pg_url: str, tmp_path: Path):
    rows = _rows(800, seed=11)
    with Ledger(tmp_path / "ledger.sqlite3") as lite, PgLedger(pg_url, tmp_path / "x.sqlite3") as pg:
        for start in range(0, len(rows), 100):
            lite.write(rows[start : start + 100])
            pg.write(rows[start : start + 100])
        cuts = [None, START + 0.5 * DAY, START + 3 * DAY + 1234.5, START + 20 * DAY]
        ranges = [(a, b) for a in cuts for b in cuts if a is None or b is None or a < b]
        groupings = [(), *[(k,) for k in KEYS], *combinations(("day", "alias", "task", "profile"), 2)]
        for since, until in ranges:
            for keys in groupings:
                expected = lite.aggregate(keys, since, until)
                assert pg.aggregate(keys, since, until) == expected, (keys, since, until)
                assert pg._raw_sums(keys, since, until) == expected, (keys, since, until)
        assert pg.spent_since(START) == lite.spent_since(START)


def test_a_row_sent_twice_is_stored_once(pg_url: str, tmp_path: Path):
    rows = _rows(50, seed=5)
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as pg:
        pg.write(rows)
        pg.write(rows[:20])  # a pending file re-sent, a personal ledger imported again
        assert pg.aggregate((), None, None)[()][0] == 50
        assert pg.query("SELECT SUM(calls) FROM rollup")[0][0] == 50


def test_many_processes_migrating_at_once_migrate_once(pg_url: str, tmp_path: Path):
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            with PgLedger(pg_url, tmp_path / "l.sqlite3") as pg:
                assert pg.schema_version() == PG_SCHEMA_VERSION
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_an_unreachable_database_is_one_ledger_error_with_the_password_masked(tmp_path: Path):
    url = f"postgresql://route:hunter2secret@/nodb?host={tmp_path}"  # no server listens there
    with pytest.raises(LedgerError) as caught:
        PgLedger(url, tmp_path / "l.sqlite3")
    assert "hunter2secret" not in caught.value.message and "***" in caught.value.message
    assert masked_url("postgresql://u:p@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert masked_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_sqlite_still_reads_its_own_rows(tmp_path: Path):
    """The dialect hooks changed Ledger.aggregate: SQLite's sums still come out of its rollup."""
    with Ledger(tmp_path / "ledger.sqlite3") as lite:
        lite.write(_rows(30, seed=2))
        assert lite.aggregate((), None, None)[()][0] == 30
    assert sqlite3.connect(tmp_path / "ledger.sqlite3").execute("SELECT SUM(calls) FROM rollup").fetchone()[0] == 30


def test_a_row_settled_in_place_by_attempt_id_keeps_the_rollup_equal_to_the_rows(pg_url, tmp_path):
    """Write-ahead rows: a row written ahead as in flight at its worst case and written again settled replaces
    it (the same attempt_id), and the rollup follows the UPDATE."""
    status_at, cost_at, id_at = COLUMNS.index("status"), COLUMNS.index("cost_nano"), COLUMNS.index("attempt_id")

    def with_id(row: tuple, n: int) -> tuple:
        return (*row[:id_at], f"a{n}", *row[id_at + 1 :])

    rows = [row.values() for row in _rows(40, seed=9)]
    ahead = [with_id((*row[:status_at], "in_flight", *row[status_at + 1 : cost_at], 9_999_999, *row[cost_at + 1 :]), n)
             for n, row in enumerate(rows)]
    settled = [with_id(row, n) for n, row in enumerate(rows)]
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as pg:
        assert pg.write_values(ahead) == 40
        assert pg.write_values(settled) == 40  # each replaces its row written ahead
        assert pg.write_values(settled[:10]) == 0  # sent again unchanged: nothing to do
        assert pg.query("SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'in_flight') FROM attempts")[0] == (40, 0)
        for keys in [(), ("status",), ("day", "alias"), ("user_name",)]:
            assert pg.aggregate(keys, None, None) == pg._raw_sums(keys, None, None), keys
        assert pg.query("SELECT COUNT(*) FROM rollup WHERE status = 'in_flight'")[0][0] == 0


def test_every_form_of_password_is_masked():
    assert masked_url("postgresql://u:p%40ss@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    assert masked_url("postgresql://u@h/db?sslmode=disable&password=pw&x=1") == (
        "postgresql://u@h/db?sslmode=disable&password=***&x=1"
    )
    assert masked_url("postgresql://[::1/db") == "(a URL that cannot be read)"
