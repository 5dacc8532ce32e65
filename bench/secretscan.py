"""Issue 10, point 4: what the secret scan (routecli/routing/secrets.py) adds to a request.

Goal: < 10 ms on a short prompt and < 1 s on 20 MB. Times the scan in this process (median of N runs) on a
short prompt, on 20 MB of prose, on 20 MB of code (route's own modules repeated: the anchor words `key`, `token`,
`password` on many lines) and on 20 MB of prose with a private key at the very end; then `route explain` end to
end on the short prompt and on the 20 MB of prose, so the scan's share of a whole dry run is visible.

    python bench/secretscan.py [--runs 7] [--mb 20] [--without /path/to/a/checkout/without/the/scan]

With --without, `route explain` also runs from that checkout (same interpreter), interleaved, for the ratio.
(Not named secrets.py: run from bench/, that name would shadow the standard library's `secrets`.)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import bench_env
from bigcount import make_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routecli.routing.inputs import Attachment, Request  # noqa: E402
from routecli.routing.secrets import scan  # noqa: E402

SHORT = "Explain what this regex does and suggest a clearer name for the function that uses it: ^[a-z]+$"


def _made_up_key() -> bytes:
    """A PEM block with random base64 for a body, made at run time: no file here holds anything shaped like a key
    (secret scanners would flag it, and so would route itself)."""
    import base64
    import random

    body = base64.b64encode(random.Random(7).randbytes(48)).decode()
    return f"\n-----BEGIN RSA {'PRIVATE'} KEY-----\n{body}\n".encode()


KEY = _made_up_key()


def _code(size: int) -> bytes:
    sources = b"".join(p.read_bytes() for p in sorted((ROOT / "routecli").rglob("*.py")))
    return (sources * (size // len(sources) + 1))[:size]


def _median_ms(request: Request, runs: int) -> tuple[float, float, int]:
    """(wall, CPU) medians in ms: on a shared, loaded machine the CPU time is the figure that holds still."""
    wall, cpu, found = [], [], 0
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        # Any held value does: it is searched for verbatim (the same placeholder as bench_env's).
        found = len(scan(request, ("*.env",), {"ANTHROPIC_API_KEY": "bench-placeholder-anthropic"}))
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000, found


def _run_once(cmd: list[str], env: dict[str, str], stdin: bytes | None) -> tuple[float, float]:
    """(wall, CPU user + system) seconds of one run of `cmd`."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 4, 6):  # too large, or refused by a budget: planned all the same
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--without", help="a checkout of route without the scan, for the ratio")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    prose = make_text(args.mb)
    inputs = {
        "short prompt": Request(SHORT),
        f"{args.mb:g} MB prose": Request("summarize", (Attachment("big.txt", prose, "utf-8", len(prose)),)),
        f"{args.mb:g} MB code": Request("review", (Attachment("all.py", _code(size), "utf-8", size),)),
        f"{args.mb:g} MB prose + a key at the end": Request(
            "summarize", (Attachment("big.txt", prose + KEY, "utf-8", len(prose)),)
        ),
    }
    print(f"scan, in process (median of {args.runs}):")
    for name, request in inputs.items():
        runs = args.runs * 20 if name == "short prompt" else args.runs
        wall, cpu, found = _median_ms(request, runs)
        print(f"  {name:40} median {wall:9.3f} ms wall, {cpu:9.3f} ms CPU  findings={found}")

    checkouts = {"": str(ROOT)} | ({", without the scan": args.without} if args.without else {})
    cases: dict[str, tuple[list[str], bytes | None, dict[str, str]]] = {}
    for suffix, checkout in checkouts.items():
        env = bench_env()  # a home of its own: the policy cache must not carry over between checkouts
        route = [sys.executable, "-m", "routecli", "explain"]
        env["PYTHONPATH"] = checkout
        cases[f"route explain, short prompt{suffix}"] = ([*route, SHORT], None, env)
        cases[f"route explain, {args.mb:g} MB stdin{suffix}"] = ([*route, "summarize this"], prose, env)
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(max(3, args.runs // 2) + 1):  # round by round, so drift hits all alike; round 0 warms up
        for name, (cmd, stdin, env) in cases.items():
            seconds, cpu_seconds = _run_once(cmd, env, stdin)
            if round_:
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
    print("route explain end to end, wall and CPU medians:")
    for name in cases:
        median, median_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        base = name + ", without the scan"
        ratio = (
            f"  ({median / statistics.median(wall[base]):.2f}x wall, "
            f"{median_cpu / statistics.median(cpu[base]):.2f}x CPU without the scan)"
            if base in cases
            else ""
        )
        print(f"  {name:50} {median * 1000:8.1f} ms wall {median_cpu * 1000:8.1f} ms CPU  n={len(wall[name])}{ratio}")

if __name__ == "__main__":
    main()
