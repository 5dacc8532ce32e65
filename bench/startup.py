"""Issue 2: `route --help` and `route explain "hi"` against the floor of importing Typer and Rich.

Goal: each <= 1.6x the floor's median, measured in the same run. Also checks with `python -X importtime`
that neither command imports a provider SDK.

    python bench/startup.py [--runs 15] [--base /path/to/other/venv/bin/route]

--base times another installation (e.g. the previous release) in the same interleaved rounds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile

from _common import bench_env, interleaved, report, route_cmd

SDKS = ("anthropic", "openai", "mistralai")


def imported_sdks(cmd: list[str], env: dict[str, str]) -> set[str]:
    """Top-level packages an SDK list that `python -X importtime` shows being imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "routecli", *cmd], capture_output=True, text=True, env=env
    )
    found = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            if name.split(".")[0] in SDKS:
                found.add(name.split(".")[0])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--base", help="another `route` executable to time side by side (e.g. the last release)")
    args = parser.parse_args()
    env = bench_env()
    route = route_cmd()
    cases = {
        "floor: python -c 'import typer, rich.console, rich.panel'": (
            [sys.executable, "-c", "import typer, rich.console, rich.panel"], None),
        "route --help": ([*route, "--help"], None),
        'route explain "hi"': ([*route, "explain", "hi"], None),
        # The local-server discovery answer is cached for a minute: a run after a pause probes again.
        'route explain "hi", discovery cache expired': (
            ["sh", "-c", 'rm -f "$ROUTE_HOME/cache/discovery.json"; exec "$@"', "sh", *route, "explain", "hi"], None),
    }
    if args.base:  # its own home: another version would rewrite the policy cache this one reads, and back
        base_home = tempfile.mkdtemp(prefix="route-bench-base-")
        cases['base: route explain "hi"'] = (["env", f"ROUTE_HOME={base_home}", args.base, "explain", "hi"], None)
    print(f"startup, {args.runs} interleaved runs each ({' '.join(route)})")
    ratios = report(interleaved(cases, env, args.runs), next(iter(cases)))
    for name in ("route --help", 'route explain "hi"', 'route explain "hi", discovery cache expired'):
        verdict = "ok" if ratios[name] <= 1.6 else "OVER GOAL"
        print(f"  goal <= 1.60x: {name}: {ratios[name]:.2f}x {verdict}")
    for cmd in (["--help"], ["explain", "hi"]):
        sdks = imported_sdks(cmd, env)
        print(f"  -X importtime route {' '.join(cmd)}: provider SDKs imported: {sorted(sdks) or 'none'}")


if __name__ == "__main__":
    main()
