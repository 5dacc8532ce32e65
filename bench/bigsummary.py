"""Issue 5: `cat 20MB.txt | route explain summarize` shows the map-reduce plan in under 2 s, and its
peak memory (maximum resident set size) stays under 6x the input size.

    python bench/bigsummary.py [--mb 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from _common import bench_env, route_cmd
from bigcount import make_text


def run_once(cmd: list[str], data_path: str, env: dict[str, str]) -> tuple[float, int, dict]:
    """Wall time, peak RSS in bytes and the JSON it printed.

    The peak comes from GNU time (`/usr/bin/time -f %M`), which forks from a tiny process: measured from
    this script, a child's maximum RSS would include this (big) process's pages from before its exec.
    """
    with open(data_path, "rb") as stdin, tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile() as rss:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], stdin=stdin, stdout=out, stderr=subprocess.PIPE,
            env=env,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()}")
        out.seek(0)
        peak_kb = int(open(rss.name).read().split()[-1])  # noqa: SIM115 - read once, closed with `rss`
        return elapsed, peak_kb * 1024, json.loads(out.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = bench_env()
    with tempfile.NamedTemporaryFile(delete=False, suffix=".txt") as handle:
        handle.write(make_text(args.mb, seed=3))
        path = handle.name
    size = os.path.getsize(path)
    cmd = [*route_cmd(), "explain", "summarize", "--json"]
    run_once(cmd, path, env)  # warm-up: caches, .pyc files
    results = [run_once(cmd, path, env) for _ in range(args.runs)]
    times = [r[0] for r in results]
    peaks = [r[1] for r in results]
    plan = results[-1][2]["plan"]
    median_time = statistics.median(times)
    peak = max(peaks)
    print(f"cat {size / 1e6:.0f}MB.txt | route explain summarize  ({args.runs} runs)")
    print(f"  time: median {median_time:.2f}s  goal < 2 s: {'ok' if median_time < 2 else 'OVER GOAL'}")
    print(f"  peak RSS: max {peak / 1e6:.0f} MB = {peak / size:.2f}x the input  goal < 6x: "
          f"{'ok' if peak < 6 * size else 'OVER GOAL'}")
    print(f"  plan: {plan['chunks']} chunks → {plan['map_model']}, reduce by {plan['reduce_model']}, "
          f"{plan['calls']} calls, est. ${plan['estimated_cost_usd']:.2f} (worst ${plan['worst_case_cost_usd']:.2f}); "
          f"{plan['budget']}")
    os.unlink(path)


if __name__ == "__main__":
    main()
