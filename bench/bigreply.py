"""One huge streamed reply: `route ask` against a plain httpx2 read of the same fake stream.

A provider streams one reply of MB megabytes in EVENTS server-sent events (Anthropic's wire, the fake provider
on 127.0.0.1). Timed: a fresh `route ask hi -m claude-haiku` process, reply to a file, against a bare process
that reads the same stream with httpx2 and writes each delta's text (the floor). Runs are interleaved, round
by round; medians and their ratio are printed. Before the fix 10 MB in 20,000 events took ~86 s here (each
delta copied the reply so far); the goal is a ratio that stays flat as the reply grows.

    python bench/bigreply.py [--mb 10] [--events 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import bench_env, route_cmd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakeprovider import FakeProvider, Reply  # noqa: E402 - tests/ is put on the path just above

FLOOR = """
import sys, json, httpx2
body = {"model": "claude-haiku-4-5", "max_tokens": 64000, "stream": True,
        "messages": [{"role": "user", "content": "hi"}]}
headers = {"x-api-key": sys.argv[2], "anthropic-version": "2023-06-01"}
out = sys.stdout
with httpx2.stream("POST", sys.argv[1] + "/v1/messages", json=body, headers=headers, timeout=600) as response:
    for line in response.iter_lines():
        if line.startswith("data: ") and '"text_delta"' in line:
            out.write(json.loads(line[6:])["delta"]["text"]); out.flush()
"""


def timed(cmd: list[str], env: dict[str, str], expect: int) -> float:
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - start
        size = out.tell()
    if proc.returncode != 0 or size != expect:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}, {size} of {expect} bytes): {proc.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    line = "a long reply, streamed in many small events, as a model writing a book would.\n"
    text = line * int(args.mb * 1e6 / len(line))
    reply = Reply(text=text, chunks=args.events, output_tokens=1000)
    with FakeProvider() as fake:
        env = bench_env(ANTHROPIC_BASE_URL=fake.base_url("anthropic"))
        cases = {
            "floor: httpx2 read of the stream": [sys.executable, "-c", FLOOR, fake.base_url("anthropic"),
                                                 env["ANTHROPIC_API_KEY"]],
            "route ask hi -m claude-haiku": [*route_cmd(), "ask", "hi", "-m", "claude-haiku"],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(args.runs + 1):  # the first round warms caches and is not counted
            for name, cmd in cases.items():
                fake.script("anthropic", reply)
                elapsed = timed(cmd, env, len(text.encode()))
                if round_:
                    times[name].append(elapsed)
    print(f"one {len(text) / 1e6:.1f} MB reply in {args.events} SSE events ({args.runs} runs, interleaved)")
    floor = statistics.median(times["floor: httpx2 read of the stream"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:36} median {median:7.2f} s  ({median / floor:.2f}x the floor)")


if __name__ == "__main__":
    main()
