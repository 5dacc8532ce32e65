"""Shared helpers for the benchmark scripts: run commands side by side, report medians and ratios."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def route_cmd() -> list[str]:
    """The installed console script if there is one (what users run), else `python -m routecli`."""
    script = BIN / "route"
    if script.exists():
        return [str(script)]
    found = shutil.which("route")
    if found and "routecli" in Path(found).read_text(errors="ignore")[:2000]:
        return [found]
    return [sys.executable, "-m", "routecli"]


def bench_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("ROUTE_")
    }
    env["ROUTE_HOME"] = extra.pop("ROUTE_HOME", tempfile.mkdtemp(prefix="route-bench-"))
    # Placeholder keys, so every provider counts as configured; benchmarks never reach a real API.
    for name in ("ANTHROPIC", "MISTRAL", "MOONSHOT", "OPENAI", "GEMINI"):
        env[f"{name}_API_KEY"] = f"bench-placeholder-{name.lower()}"
    env.update(extra)
    return env


def time_once(cmd: Sequence[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 4):  # 4 = input too large for every model, a valid outcome to time
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}")
    return elapsed


Cases = dict[str, tuple[Sequence[str], bytes | None]]


def interleaved(cases: Cases, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Run every case once per round, round after round, so machine drift hits all cases alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for cmd, stdin in cases.values():  # warm-up: page cache, .pyc files, price cache
        time_once(cmd, env, stdin)
    for _ in range(runs):
        for name, (cmd, stdin) in cases.items():
            times[name].append(time_once(cmd, env, stdin))
    return times


def report(times: dict[str, list[float]], baseline: str) -> dict[str, float]:
    base = statistics.median(times[baseline])
    ratios = {}
    for name, values in times.items():
        median = statistics.median(values)
        ratios[name] = median / base
        print(f"  {name:48} median {median * 1000:8.1f} ms  ({ratios[name]:.2f}x {baseline})  n={len(values)}")
    return ratios
