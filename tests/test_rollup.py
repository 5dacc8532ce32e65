"""The ledger's rollup (running totals per day and report key, kept by a trigger) must always give the
same sums as scanning the attempts: for any range, including ranges that cut days, and any grouping."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime
from decimal import Decimal
from itertools import combinations
from pathlib import Path

from routecli.ledger.store import _MIGRATIONS, KEYS, ROLLUP_VERSION, SCHEMA_VERSION, Ledger, Row

DAY = 86_400.0
START = datetime(2026, 10, 1, 9, 30).timestamp()


def _row(rng: random.Random, ts: float, index: int) -> Row:
    status = rng.choice(["ok", "ok", "ok", "fallback", "retry", "interrupted"])
    priced = index % 7 != 0  # some unpriced rows: NULL cost, counted apart
    tokens_in = rng.randint(1, 300_000)
    return Row(
        ts=ts,
        request_id=f"r{index // 2}",
        command=rng.choice(["ask", "summarize"]),
        task=rng.choice(["chat", "code", None]),
        profile=rng.choice(["balanced", "cheap", None]),
        alias=rng.choice(["claude-haiku", "mistral-medium", "local"]),
        provider=rng.choice(["anthropic", "mistral"]),
        model_id="m",
        reported_model_id=None,
        chain_position=rng.choice([0, 0, 1]),
        try_number=rng.choice([0, 0, 1]),
        status=status,
        error_kind=None,
        error=None,
        input_tokens=None if status == "interrupted" and index % 2 else tokens_in,
        output_tokens=rng.randint(0, 4000),
        cached_input_tokens=rng.choice([0, None, 512]),
        cache_write_tokens=0,
        reasoning_tokens=0,
        usage_estimated=False,
        cost_usd=Decimal(rng.randint(0, 10**7)) / Decimal(10**9) if priced else None,
        price_source="test",
        first_token_s=0.1,
        total_s=0.2,
        reason="test",
    )


def _rows(count: int, seed: int = 7) -> list[Row]:
    rng = random.Random(seed)
    return [_row(rng, START + rng.random() * 9 * DAY, i) for i in range(count)]


def _scan(ledger: Ledger, keys: tuple[str, ...], since: float | None, until: float | None) -> dict:
    return ledger._raw_sums(keys, since, until)


def test_rollup_equals_a_full_scan_for_any_range_and_grouping(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        rows = _rows(1500)
        for start in range(0, len(rows), 100):  # several transactions, as many processes would write them
            ledger.write(rows[start : start + 100])
        cuts = [None, START - DAY, START + 0.5 * DAY, START + 3 * DAY + 1234.5, START + 8.9 * DAY, START + 20 * DAY]
        ranges = [(a, b) for a in cuts for b in cuts if a is None or b is None or a < b]
        groupings = [(), *[(k,) for k in KEYS], *combinations(("day", "alias", "task", "profile"), 2)]
        for since, until in ranges:
            for keys in groupings:
                assert ledger.aggregate(keys, since, until) == _scan(ledger, keys, since, until), (keys, since, until)
        everything = ledger.aggregate((), None, None)[()]
        assert everything[0] == 1500 and everything[7] == sum(1 for r in rows if r.cost_usd is None)


def test_an_older_ledger_is_migrated_with_its_rows_rolled_up(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:  # write rows, then take the ledger back to version 2 (no rollup)
        ledger.write(_rows(400, seed=3))
        expected = _scan(ledger, ("day", "alias"), None, None)
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TRIGGER attempts_rollup; DROP TABLE rollup; ALTER TABLE attempts DROP COLUMN first_byte_s; "
        "ALTER TABLE attempts DROP COLUMN overhead_s; ALTER TABLE attempts DROP COLUMN user_name; "
        "ALTER TABLE attempts DROP COLUMN host; ALTER TABLE attempts DROP COLUMN tag; "
        "PRAGMA user_version = 2;"  # undo versions 3 and later
    )
    conn.close()

    with Ledger(path, readonly=True) as old:  # read-only: no migration, the sums come from a scan
        assert old.schema_version() == 2
        assert old.aggregate(("day", "alias"), None, None) == expected
    with Ledger(path) as ledger:  # opened for writing: migrated, the rollup filled from the rows
        assert ledger.schema_version() == SCHEMA_VERSION >= ROLLUP_VERSION
        assert ledger.query("SELECT COUNT(*) FROM rollup")[0][0] > 0
        assert ledger.aggregate(("day", "alias"), None, None) == expected
        ledger.write(_rows(10, seed=4))  # and the trigger keeps it current
        assert ledger.aggregate((), None, None)[()][0] == 410
    assert len(_MIGRATIONS) == SCHEMA_VERSION
