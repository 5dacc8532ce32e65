"""Issue 9, point 10: what writing each attempt ahead costs before its request leaves.

Every attempt's row is inserted (status in_flight, its worst-case estimate) before the request is sent, and
settled in place after the reply. The first write sits between route's decision and the request, so it adds
to the time to the first token: goal <= 5 ms (median), on a fresh ledger and on one of --rows rows.

    python bench/writeahead.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ledger import build, fake_row

from routecli.ledger.record import record


def time_ahead_and_settle(path: Path, runs: int) -> tuple[list[float], list[float]]:
    rng = random.Random(11)
    ahead, settle = [], []
    for index in range(runs):
        row = replace(fake_row(rng, time.time(), index), attempt_id=f"bench-{index}", status="in_flight")
        start = time.perf_counter()
        record(path, [row])  # what Journal.ahead does before the request leaves
        ahead.append(time.perf_counter() - start)
        start = time.perf_counter()
        record(path, [replace(row, status="ok")])  # what the end of the request does, after the reply
        settle.append(time.perf_counter() - start)
    return ahead, settle


def _report(name: str, ahead: list[float], settle: list[float]) -> None:
    median = statistics.median(ahead) * 1000
    p95 = statistics.quantiles(ahead, n=20)[-1] * 1000
    print(
        f"  {name:28} write ahead: median {median:.2f} ms, p95 {p95:.2f} ms (goal <= 5 ms: "
        f"{'ok' if median <= 5 else 'OVER GOAL'}); settle: median {statistics.median(settle) * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="route-writeahead-bench-"))
    fresh = home / "fresh.sqlite3"
    _report("fresh ledger", *(values[10:] for values in time_ahead_and_settle(fresh, 210)))
    big = home / "big.sqlite3"
    build(big, args.rows)
    _report(f"ledger of {args.rows:,} rows", *time_ahead_and_settle(big, 100))


if __name__ == "__main__":
    main()
