"""Issue 3: time to first token of `route ask`, against the SDKs it calls and when the primary is down.

Every case is a fresh process; what is timed is spawn -> first byte on its stdout pipe, against a FakeProvider
running in this process (no network). Cases run interleaved, round by round, so drift hits all alike.

Goals: `route ask -m <alias>` <= 2.0x a bare httpx2 process streaming the same request (the floor, one per
wire; issue 12) and <= 1.10x a minimal script calling the same SDK; with the primary (claude-haiku)
refusing connections or answering 529, the fallback's TTFT <= 1.20x a direct call to it (mistral-medium);
with the primary in cooldown (skipped without contact) <= 1.10x that direct call. The "+think" cases add a
provider that waits THINK seconds before its first token (no goal; shown for what it means in real use).

    python bench/ttft.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from _common import bench_env, route_cmd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakeprovider import FakeProvider, Fault, Reply, closed_port  # noqa: E402 - tests/ is put on the path just above

PROMPT = "hello there!"
THINK = 0.5  # seconds a "+think" provider waits between its response headers and the first token
MAX_TOKENS = 4096
FLAVORS_WITH_URLS = ("anthropic", "openai", "moonshot", "gemini", "mistral")
PRIMARY, FALLBACK = "claude-haiku", "mistral-medium"  # the chat chain for PROMPT
SDK_FOR = {"claude-haiku": "anthropic", "mistral-medium": "mistralai", "gpt-mini": "openai"}

# {url}, {key}, {model}, {prompt} and {max_tokens} are filled in; each prints the first text delta and exits.
# The floors: a bare process streaming the same request with httpx2 (what route uses), per wire.
_FLOOR = """
import sys, json, httpx2
body = {{"model": "{model}", "max_tokens": {max_tokens}, "stream": True,
        "messages": [{{"role": "user", "content": "{prompt}"}}]}}
headers = {{"authorization": "Bearer {key}", "anthropic-version": "2023-06-01"}}
with httpx2.stream("POST", "{url}%s", json=body, headers=headers) as response:
    for line in response.iter_lines():
        if line.startswith("data: ") and %s:
            sys.stdout.write(%s); sys.stdout.flush(); break
"""
FLOOR_SCRIPTS = {  # by SDK name, as SDK_SCRIPTS
    "anthropic": _FLOOR % ("/v1/messages", "'\"text_delta\"' in line", 'json.loads(line[6:])["delta"]["text"]'),
    "openai": _FLOOR % ("/chat/completions", "'\"content\":\"H' in line",
                        'json.loads(line[6:])["choices"][0]["delta"]["content"]'),
    "mistralai": _FLOOR % ("/v1/chat/completions", "'\"content\":\"H' in line",
                           'json.loads(line[6:])["choices"][0]["delta"]["content"]'),
}
SDK_SCRIPTS = {
    "anthropic": """
import sys, anthropic
client = anthropic.Anthropic(api_key="{key}", base_url="{url}", max_retries=0)
stream = client.messages.create(model="{model}", max_tokens={max_tokens}, stream=True,
                                messages=[{{"role": "user", "content": "{prompt}"}}])
for event in stream:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        sys.stdout.write(event.delta.text); sys.stdout.flush(); break
""",
    "openai": """
import sys, openai
client = openai.OpenAI(api_key="{key}", base_url="{url}", max_retries=0)
stream = client.chat.completions.create(model="{model}", max_completion_tokens={max_tokens}, stream=True,
                                        stream_options={{"include_usage": True}},
                                        messages=[{{"role": "user", "content": "{prompt}"}}])
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content); sys.stdout.flush(); break
""",
    "mistralai": """
import sys
from mistralai.client import Mistral
client = Mistral(api_key="{key}", server_url="{url}")
for event in client.chat.stream(model="{model}", max_tokens={max_tokens},
                                messages=[{{"role": "user", "content": "{prompt}"}}]):
    choices = event.data.choices
    if choices and choices[0].delta.content:
        sys.stdout.write(choices[0].delta.content); sys.stdout.flush(); break
""",
}
FLAVOR_OF_SDK = {"anthropic": "anthropic", "openai": "openai", "mistralai": "mistral"}


@dataclass
class Case:
    name: str
    cmd: Sequence[str]
    env: Callable[[], dict[str, str]]  # called before each run: fresh homes, scripted faults
    expect: str  # text the first bytes of stdout must start with (proves the right model answered)


def ttft(cmd: Sequence[str], env: dict[str, str], expect: str) -> float:
    """Seconds from spawning `cmd` to the first byte on its stdout; the run must then succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    first = os.read(proc.stdout.fileno(), 1)
    elapsed = time.perf_counter() - start
    rest, err = proc.communicate(timeout=60)
    out = (first + rest).decode("utf-8", "replace")
    if proc.returncode != 0 or not out.startswith(expect):
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\nstdout: {out!r}\n{err.decode()}"
        )
    return elapsed


def model_ids() -> dict[str, str]:
    models = yaml.safe_load((ROOT / "routes.yaml").read_text())["models"]
    return {alias: str(models[alias]["id"]) for alias in SDK_FOR}


def fresh_home(template: Path) -> str:
    """A new ROUTE_HOME holding only the price cache of `template` (no cooldowns, no ledger)."""
    home = Path(tempfile.mkdtemp(prefix="route-ttft-"))
    if (template / "cache").is_dir():
        shutil.copytree(template / "cache", home / "cache")
    return str(home)


def build_cases(fake: FakeProvider, template: Path) -> list[Case]:
    ids = model_ids()
    urls = {f"{name.upper()}_BASE_URL": fake.base_url(name) for name in FLAVORS_WITH_URLS}
    warm = bench_env(ROUTE_HOME=str(template), **urls)  # one home for runs that leave no state behind
    route = route_cmd()
    py = sys.executable

    def script(text: str, flavor: str, model: str) -> list[str]:
        key = warm[f"{flavor.upper()}_API_KEY"]
        filled = text.format(url=fake.base_url(flavor), key=key, model=model, prompt=PROMPT, max_tokens=MAX_TOKENS)
        return [py, "-c", filled]

    def hello(flavor: str, alias: str) -> str:
        return f"Hello from {flavor}:{ids[alias]}."

    cases = [
        Case("floor: raw httpx2 stream (anthropic)", script(FLOOR_SCRIPTS["anthropic"], "anthropic", ids[PRIMARY]),
             lambda: warm, "Hello"),
    ]
    for alias, sdk in SDK_FOR.items():
        flavor = FLAVOR_OF_SDK[sdk]
        if sdk != "anthropic":
            cases.append(Case(f"floor: raw httpx2 stream ({flavor})", script(FLOOR_SCRIPTS[sdk], flavor, ids[alias]),
                              lambda: warm, "Hello"))
        cases.append(Case(f"sdk script: {sdk}", script(SDK_SCRIPTS[sdk], flavor, ids[alias]), lambda: warm,
                          "Hello"))
        cases.append(Case(f"route ask -m {alias}", [*route, "ask", PROMPT, "-m", alias], lambda: warm,
                          hello(flavor, alias)))

    # The same, with a provider that takes THINK seconds from its response headers to the first token, as
    # real ones do. route sends its request before importing the SDK, so the import overlaps that wait.
    for alias, sdk in SDK_FOR.items():
        flavor = FLAVOR_OF_SDK[sdk]

        def thinking(flavor: str = flavor) -> dict[str, str]:
            fake.script(flavor, Reply(chunks=1, chunk_delay=THINK))
            return warm

        cases.append(Case(f"sdk script: {sdk} +think", script(SDK_SCRIPTS[sdk], flavor, ids[alias]), thinking,
                          "Hello"))
        cases.append(Case(f"route ask -m {alias} +think", [*route, "ask", PROMPT, "-m", alias], thinking,
                          hello(flavor, alias)))

    refused = {**urls, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{closed_port()}"}
    cooldown_home: list[str] = []

    def refused_env() -> dict[str, str]:  # a fresh home each run: a refused connection starts a cooldown
        return bench_env(ROUTE_HOME=fresh_home(template), **refused)

    def overloaded_env() -> dict[str, str]:  # one 529 per run, in a fresh home; that home then holds a cooldown
        fake.script("anthropic", Fault("529"))
        home = fresh_home(template)
        cooldown_home[:] = [home]
        return bench_env(ROUTE_HOME=home, **urls)

    def cooldown_env() -> dict[str, str]:  # the home the 529 run (just before, same round) left in cooldown
        return bench_env(ROUTE_HOME=cooldown_home[0], **urls)

    ask = [*route, "ask", PROMPT]
    fallback_text = hello("mistral", FALLBACK)
    cases += [
        Case(f"direct: route ask -m {FALLBACK}", [*ask, "-m", FALLBACK], lambda: warm, fallback_text),
        Case(f"fallback: {PRIMARY} refused", ask, refused_env, fallback_text),
        Case(f"fallback: {PRIMARY} 529", ask, overloaded_env, fallback_text),
        Case(f"cooldown: {PRIMARY} skipped", ask, cooldown_env, fallback_text),
    ]
    return cases


def measure(cases: list[Case], fake: FakeProvider, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    for round_number in range(runs + 1):  # round 0 warms up: page cache, .pyc files
        for case in cases:
            before = len(fake.requests_for("anthropic"))
            elapsed = ttft(case.cmd, case.env(), case.expect)
            contacted = len(fake.requests_for("anthropic")) - before
            if case.name.startswith("cooldown") and contacted:
                raise SystemExit("the cooldown run contacted the primary: no cooldown in force")
            if round_number:
                times[case.name].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with FakeProvider() as fake:
        template = Path(tempfile.mkdtemp(prefix="route-ttft-home-"))
        cases = build_cases(fake, template)
        # Resolve prices once into the template home, so fresh homes copy the cache instead of rebuilding it.
        first_route = next(case for case in cases if case.name.startswith("route ask"))
        ttft(first_route.cmd, first_route.env(), first_route.expect)
        print(f"time to first token, {args.runs} interleaved runs each ({' '.join(route_cmd())})")
        times = measure(cases, fake, args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians[cases[0].name]
    for name, median in medians.items():
        spread = f"{min(times[name]) * 1000:.0f}-{max(times[name]) * 1000:.0f}"
        print(f"  {name:40} median {median * 1000:7.1f} ms  ({median / floor:.2f}x floor)  range {spread} ms")
    goals = [(f"route ask -m {alias}", f"floor: raw httpx2 stream ({FLAVOR_OF_SDK[sdk]})", 2.0)
             for alias, sdk in SDK_FOR.items()]
    goals += [(f"route ask -m {alias}", f"sdk script: {sdk}", 1.10) for alias, sdk in SDK_FOR.items()]
    goals += [(name, f"direct: route ask -m {FALLBACK}", limit) for name, limit in (
        (f"fallback: {PRIMARY} refused", 1.20), (f"fallback: {PRIMARY} 529", 1.20),
        (f"cooldown: {PRIMARY} skipped", 1.10))]
    for name, baseline, limit in goals:
        ratio = medians[name] / medians[baseline]
        verdict = "ok" if ratio <= limit else "OVER GOAL"
        print(f"  goal <= {limit:.2f}x: {name} vs {baseline}: {ratio:.2f}x {verdict}")
    for alias, sdk in SDK_FOR.items():  # no goal: what a provider's own latency does to the comparison
        ratio = medians[f"route ask -m {alias} +think"] / medians[f"sdk script: {sdk} +think"]
        print(f"  with {THINK:g} s provider latency: route ask -m {alias} vs sdk script: {sdk}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
