"""Issue 10, point 4: what the secret scan (routecli/routing/secrets.py) adds to a request.

Goal: < 10 ms on a short prompt and < 1 s on 20 MB. Times the scan in this process (median of N runs) on a
short prompt, on 20 MB of prose, on 20 MB of code (route's own modules repeated: the anchor words `key`, `token`,
`password` on many lines) and on 20 MB of prose with a private key at the very end; then `route explain` end to
end on the short prompt and on the 20 MB of prose, so the scan's share of a whole dry run is visible.

    python bench/secrets.py [--runs 7] [--mb 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from _common import bench_env, interleaved, route_cmd
from bigcount import make_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routecli.routing.inputs import Attachment, Request  # noqa: E402
from routecli.routing.secrets import scan  # noqa: E402

SHORT = "Explain what this regex does and suggest a clearer name for the function that uses it: ^[a-z]+$"
KEY = b"\n-----BEGIN RSA PRIVATE KEY-----\n" + b"MIIEpAIBAAKCAQEAx3V7kq9Rz0fJm2bL8yQeT4wNcP1sHgUa6dVoXiYrZ5tKjB0n\n"


def _code(size: int) -> bytes:
    sources = b"".join(p.read_bytes() for p in sorted((ROOT / "routecli").rglob("*.py")))
    return (sources * (size // len(sources) + 1))[:size]


def _median_ms(request: Request, runs: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        found = len(scan(request, ("*.env",), {"ANTHROPIC_API_KEY": "sk-ant-bench-placeholder-0001"}))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=float, default=20)
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
        median, found = _median_ms(request, runs)
        print(f"  {name:40} median {median:9.3f} ms  findings={found}")

    env = bench_env()
    cases = {
        "route explain (short prompt)": ([*route_cmd(), "explain", SHORT], None),
        f"route explain ({args.mb:g} MB stdin)": ([*route_cmd(), "explain", "summarize this"], prose),
    }
    times = interleaved(cases, env, max(3, args.runs // 2))
    print("route explain end to end (includes the scan):")
    for name, values in times.items():
        print(f"  {name:40} median {statistics.median(values) * 1000:9.1f} ms  n={len(values)}")


if __name__ == "__main__":
    main()
