"""Issue 4: `route costs` over a ledger of 1,000,000 rows, and the cost of recording one attempt.

Goals: `route costs` and `route costs --by model --since 30d` <= 1.0 s each (median); recording one
attempt (open the ledger, insert, commit, close: what each `route ask` does) <= 5 ms (median).

    python bench/ledger.py [--rows 1000000] [--runs 5]
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


def time_record(path: Path, runs: int) -> list[float]:
    rng = random.Random(7)
    times = []
    for index in range(runs):
        row = fake_row(rng, time.time(), index)
        start = time.perf_counter()
        record(path, [row])
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
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
