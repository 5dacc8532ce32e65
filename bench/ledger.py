"""Issue 4: `route costs` over a ledger of 1,000,000 rows, and the cost of recording one attempt.

Goals: `route costs` and `route costs --by model --since 30d` <= 1.0 s each (median); recording one
attempt (open the ledger, insert, commit, close: what each `route ask` does) <= 5 ms (median).

    python bench/ledger.py [--rows 1000000] [--runs 5]

Issue 14, a ledger a team shares in PostgreSQL: with --url, the same figures for the database at URL (an empty
database: it is filled) beside SQLite's, as ratios. Goals: `route costs` over 5,000,000 rows <= 1.0 s (median of
5), recording one call <= 10 ms (median of 50).

    python bench/ledger.py --url postgresql://USER@/DB?host=/SOCKET/DIR [--rows 5000000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _common import bench_env, interleaved, route_cmd

from routecli.ledger.record import record
from routecli.ledger.store import Ledger, Row
from routecli.ledger.target import LedgerTarget

ALIASES = [
    ("claude-haiku", "anthropic"),
    ("claude-sonnet", "anthropic"),
    ("mistral-large", "mistral"),
    ("codestral", "mistral"),
    ("kimi-k2-thinking", "moonshot"),
    ("gpt-mini", "openai"),
]
TASKS = ["chat", "summarize", "code", "reasoning", "creative", "extract", "safety"]
STATUSES = ["ok"] * 18 + ["fallback", "retry"]


def fake_row(rng: random.Random, ts: float, index: int) -> Row:
    alias, provider = rng.choice(ALIASES)
    status = rng.choice(STATUSES)
    tokens_in, tokens_out = rng.randint(10, 50_000), rng.randint(1, 4_000)
    cost = None if index % 1000 == 0 else Decimal(tokens_in * 3 + tokens_out * 15) / Decimal(1_000_000)
    return Row(
        ts=ts,
        request_id=f"r{index // 2}",
        command="ask",
        task=rng.choice(TASKS),
        profile="balanced",
        alias=alias,
        provider=provider,
        model_id=alias + "-id",
        reported_model_id=alias + "-id",
        chain_position=0 if status == "ok" else 1,
        try_number=0,
        status=status,
        error_kind=None,
        error=None,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_input_tokens=rng.choice([0, 0, 0, 512]),
        cache_write_tokens=0,
        reasoning_tokens=0,
        usage_estimated=False,
        cost_usd=cost,
        price_source="genai-prices",
        first_token_s=rng.random(),
        total_s=rng.random() * 5,
        reason="bench",
    )


def build(path: Path, rows: int) -> None:
    rng = random.Random(42)
    start = time.time() - 90 * 86400  # 90 days of history, appended in time order as real use does
    step = 90 * 86400 / rows
    with Ledger(path) as ledger:
        batch: list[tuple] = []
        for index in range(rows):
            batch.append(fake_row(rng, start + index * step, index).values())
            if len(batch) == 50_000:
                ledger.write_values(batch)
                batch = []
        ledger.write_values(batch)


def time_record(path: Path, runs: int, url: str | None = None) -> list[float]:
    rng = random.Random(7)
    times = []
    target = LedgerTarget(path, url)
    for index in range(runs):
        row = fake_row(rng, time.time(), index)
        start = time.perf_counter()
        record(target, [row])
        times.append(time.perf_counter() - start)
    return times


def postgres_main(url: str, rows: int, runs: int) -> None:
    """The shared ledger's figures beside SQLite's, for the same synthetic rows."""
    from _ledger_fill import fill_postgres, fill_sqlite

    from routecli.ledger.reports import cost_report

    home = Path(tempfile.mkdtemp(prefix="route-ledger-bench-"))
    sqlite_path = home / "data" / "ledger.sqlite3"
    for name, fill in (("SQLite", lambda: fill_sqlite(sqlite_path, rows)),
                       ("PostgreSQL", lambda: fill_postgres(url, rows, home / "data" / "shared-ledger"))):
        start = time.perf_counter()
        fill()
        print(f"filled {name} with {rows:,} rows in {time.perf_counter() - start:.1f}s")
    env = {
        "SQLite": bench_env(ROUTE_HOME=str(home)),
        "PostgreSQL": bench_env(ROUTE_HOME=str(home), ROUTE_LEDGER_URL=url),
    }
    route = route_cmd()
    commands = {
        "route costs": ["costs"],
        "route costs --by user --since 30d": ["costs", "--by", "user", "--since", "30d"],
    }
    print(f"route costs, the command (a new process each time), median of {runs}:")
    for label, args in commands.items():
        medians = {}
        for backend in ("SQLite", "PostgreSQL"):
            times = interleaved({label: ([*route, *args], None)}, env[backend], runs)[label]
            medians[backend] = statistics.median(times)
        ok = "ok" if medians["PostgreSQL"] <= 1.0 else "OVER GOAL"
        print(f"  {label:36} PostgreSQL {medians['PostgreSQL']:.3f}s  SQLite {medians['SQLite']:.3f}s  "
              f"ratio {medians['PostgreSQL'] / medians['SQLite']:.2f}  goal <= 1.0 s: {ok}")
    print(f"cost_report in this process (the query alone), median of {runs}:")
    inproc = {}
    for backend, target in (("SQLite", LedgerTarget(sqlite_path)),
                            ("PostgreSQL", LedgerTarget(home / "data" / "shared-ledger", url))):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            cost_report(target, [], None, None)
            times.append(time.perf_counter() - start)
        inproc[backend] = statistics.median(times)
    print(f"  {'route costs':36} PostgreSQL {inproc['PostgreSQL']:.3f}s  SQLite {inproc['SQLite']:.3f}s  "
          f"ratio {inproc['PostgreSQL'] / inproc['SQLite']:.2f}")
    same = cost_report(LedgerTarget(sqlite_path), [], None, None).total == cost_report(
        LedgerTarget(home / "data" / "shared-ledger", url), [], None, None
    ).total
    print(f"  the same totals from both: {'yes' if same else 'NO'}")
    pg = statistics.median(time_record(home / "data" / "shared-ledger", 50, url)) * 1000
    lite = statistics.median(time_record(sqlite_path, 50)) * 1000
    print(f"record one call (connect, insert, commit, close), median of 50: PostgreSQL {pg:.2f} ms  "
          f"SQLite {lite:.2f} ms  ratio {pg / lite:.2f}  goal <= 10 ms: {'ok' if pg <= 10 else 'OVER GOAL'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="a PostgreSQL database to fill and measure beside SQLite (issue 14)")
    args = parser.parse_args()
    if args.url:
        postgres_main(args.url, args.rows, args.runs)
        return
    home = Path(tempfile.mkdtemp(prefix="route-ledger-bench-"))
    ledger = home / "data" / "ledger.sqlite3"
    start = time.perf_counter()
    build(ledger, args.rows)
    print(
        f"built a ledger of {args.rows:,} rows in {time.perf_counter() - start:.1f}s "
        f"({ledger.stat().st_size / 1e6:.0f} MB)"
    )
    env = bench_env(ROUTE_HOME=str(home))
    route = route_cmd()
    cases = {
        "route costs": ([*route, "costs"], None),
        "route costs --by model --since 30d": ([*route, "costs", "--by", "model", "--since", "30d"], None),
        "route costs --vs claude-opus --by day": ([*route, "costs", "--vs", "claude-opus", "--by", "day"], None),
    }
    times = interleaved(cases, env, args.runs)
    for name, values in times.items():
        median = statistics.median(values)
        goal = "" if "--vs" in name else f"  goal <= 1.0 s: {'ok' if median <= 1.0 else 'OVER GOAL'}"
        print(f"  {name:40} median {median:.3f}s  n={len(values)}{goal}")
    record_times = time_record(home / "data" / "record.sqlite3", 200)[20:]  # the first creates the file
    median = statistics.median(record_times) * 1000
    print(
        f"  record one attempt (open, insert, commit, close): median {median:.2f} ms, "
        f"p95 {statistics.quantiles(record_times, n=20)[-1] * 1000:.2f} ms  goal <= 5 ms: "
        f"{'ok' if median <= 5 else 'OVER GOAL'}"
    )
    big = time_record(ledger, 50)
    print(f"  record one attempt into the 1M-row ledger: median {statistics.median(big) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
