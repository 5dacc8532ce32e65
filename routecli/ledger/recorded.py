"""The recorded requests `route replay` re-decides: each request's first attempt (what the decision chose, with the
facts it was made from) and its successful attempt (the real usage, to price under another policy).

Read-only. A damaged ledger is not repaired here: the rows SQLite can still read are replayed, and said so.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from routecli.errors import DamagedLedgerError
from routecli.ledger.facts import FACT_COLUMNS, FACT_MIGRATION
from routecli.ledger.store import _MIGRATIONS, COLUMNS, Ledger
from routecli.values import frozen

# The schema version from which rows carry the facts (found, not written down: migrations may be reordered).
FACTS_VERSION = next(i + 1 for i, step in enumerate(_MIGRATIONS) if step is FACT_MIGRATION)
_WANTED = (
    "request_id", "ts", "task", "alias", "provider", "chain_position", "try_number", "status", "stage", "prompt",
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "cost_usd", *FACT_COLUMNS,
)
FINAL_STAGE = "reduce final"  # the last call of a map-reduce summary (run/mapreduce.py)


@frozen
class StoredFacts:
    complexity: int
    tokens: int
    input_bytes: int | None
    flags: dict[str, Any]
    policy_hash: str | None


@frozen
class Usage:
    """The successful attempt's real usage and what it cost."""

    alias: str
    provider: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    cost: Decimal | None  # None: unpriced


@frozen
class RecordedRequest:
    request_id: str
    ts: float
    task: str | None
    alias: str  # what the decision chose (the first attempt's model)
    provider: str
    prompt: str | None  # only with --log-prompts
    input_tokens: int | None  # the first attempt's, as reported (or estimated)
    map_reduce: bool
    facts: StoredFacts | None  # None: recorded before the facts were (schema < FACTS_VERSION)
    final: Usage | None  # None: no attempt succeeded


@frozen
class Recorded:
    requests: list[RecordedRequest]
    notice: str | None = None  # e.g. a damaged ledger, read as far as it could be


def read_requests(path: Path, since: float | None = None, until: float | None = None) -> Recorded:
    if not path.exists():
        return Recorded([])
    try:
        with Ledger(path, readonly=True) as ledger:
            have = {row[1] for row in ledger.query("PRAGMA table_info(attempts)")}
            columns = [c for c in _WANTED if c in have]
            clauses = ["(status = 'ok' OR (chain_position = 0 AND try_number = 0))"]
            params: list[float] = []
            for clause, value in (("ts >= ?", since), ("ts < ?", until)):
                if value is not None:
                    clauses.append(clause)
                    params.append(value)
            sql = f"SELECT {', '.join(columns)} FROM attempts WHERE {' AND '.join(clauses)} ORDER BY ts, id"
            rows = [dict(zip(columns, row, strict=True)) for row in ledger.query(sql, params)]
        notice = None
    except DamagedLedgerError as error:
        from routecli.ledger.salvage import read_rows

        rows = [dict(zip(COLUMNS, row, strict=True)) for row in read_rows(path)]
        rows = [r for r in rows if (since is None or r["ts"] >= since) and (until is None or r["ts"] < until)]
        notice = f"{error.message}; replaying the {len(rows):,} attempts that could still be read"
    return Recorded(_requests([{c: row.get(c) for c in _WANTED} for row in rows]), notice)


def _requests(rows: list[dict[str, Any]]) -> list[RecordedRequest]:
    finals: dict[str, Usage] = {}
    for row in rows:
        if row["status"] == "ok" and row["stage"] in (None, FINAL_STAGE):
            finals[row["request_id"]] = Usage(
                row["alias"], row["provider"], row["input_tokens"] or 0, row["output_tokens"] or 0,
                row["cached_input_tokens"] or 0, row["cache_write_tokens"] or 0,
                None if row["cost_usd"] is None else Decimal(row["cost_usd"]),
            )
    found = []
    for row in rows:
        first = row["chain_position"] == 0 and row["try_number"] == 0
        if not first or row["stage"] not in (None, FINAL_STAGE):
            continue  # a retry, a fallback, or a map call of a summary
        found.append(RecordedRequest(
            request_id=row["request_id"],
            ts=row["ts"],
            task=row["task"],
            alias=row["alias"],
            provider=row["provider"],
            prompt=row["prompt"],
            input_tokens=row["input_tokens"],
            map_reduce=row["stage"] == FINAL_STAGE,
            facts=_facts(row),
            final=finals.get(row["request_id"]),
        ))
    return found


def _facts(row: dict[str, Any]) -> StoredFacts | None:
    if row.get("complexity") is None or row.get("decision_tokens") is None:
        return None
    try:
        flags = json.loads(row.get("flags") or "{}")
    except ValueError:
        flags = {}
    return StoredFacts(int(row["complexity"]), int(row["decision_tokens"]), row.get("input_bytes"),
                       flags if isinstance(flags, dict) else {}, row.get("policy_hash"))
