"""The learned task classifier: accuracy on the old labelled set (rules vs model), latency and load time.

    python bench/classifier.py [--explain]   # --explain: the rules' answers through `route explain --json`
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routecli.routing import learned  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "labelled_prompts.yaml"


HELDOUT = ROOT / "data" / "heldout.jsonl"
EXTERNAL = ROOT / "data" / "external_eval.jsonl"  # written by other people, never trained on
CONFIDENT = 0.5  # in the combined reading, the model's answer wins from this confidence on


def rules_choice(prompt: str):
    from routecli.policy.load import load_policy
    from routecli.routing.classify import classify

    policy = load_policy(None, Path("/nonexistent-config-dir"))
    return classify(policy, prompt, "", max(1, len(prompt) // 4))


def rules_task(prompt: str, via_explain: bool) -> str:
    if via_explain:
        out = subprocess.run([sys.executable, "-m", "routecli", "explain", prompt, "--json"],
                             capture_output=True, text=True, cwd=ROOT).stdout
        return json.loads(out)["task"]
    return rules_choice(prompt).task


def combined_task(prompt: str) -> str:
    """One way to merge them: a safety rule always wins; then a confident model; then any rule; then the model."""
    rules = rules_choice(prompt)
    if rules.scores.get("safety"):
        return "safety"
    model = learned.predict(prompt)
    if model.confidence >= CONFIDENT or not rules.scores:
        return model.task
    return rules.task


def score(name: str, items: list[dict], guesses: list[str]) -> None:
    total, right = Counter(), Counter()
    for item, guess in zip(items, guesses, strict=True):
        total[item["task"]] += 1
        right[item["task"]] += guess == item["task"]
    print(f"{name}: {sum(right.values())}/{len(items)} = {sum(right.values()) / len(items):.1%}  "
          + "  ".join(f"{t} {right[t]}/{total[t]}" for t in sorted(total)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    items = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    score("rules   ", items, [rules_task(item["prompt"], args.explain) for item in items])
    started = time.perf_counter()
    learned.read_model(learned.WEIGHTS_PATH)  # what the first prediction of a process pays
    print(f"weights load: {(time.perf_counter() - started) * 1000:.1f} ms "
          f"({learned.WEIGHTS_PATH.stat().st_size // 1024} kB)")
    score("learned ", items, [learned.predict(item["prompt"]).task for item in items])
    score("combined", items, [combined_task(item["prompt"]) for item in items])
    held = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"on {HELDOUT.relative_to(ROOT)}:")
    score("rules   ", held, [rules_task(item["prompt"], False) for item in held])
    score("learned ", held, [learned.predict(item["prompt"]).task for item in held])
    score("combined", held, [combined_task(item["prompt"]) for item in held])
    external = [json.loads(line) for line in EXTERNAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"on {EXTERNAL.relative_to(ROOT)}:")
    score("learned ", external, [learned.predict(item["prompt"]).task for item in external])
    score("router  ", external, [rules_choice(item["prompt"]).task for item in external])
    prompts = [item["prompt"] for item in items]
    started = time.perf_counter()
    for _ in range(20):
        for prompt in prompts:
            learned.predict(prompt)
    print(f"latency: {(time.perf_counter() - started) / (20 * len(prompts)) * 1000:.3f} ms per prompt (mean)")
    big = (ROOT / "README.md").read_text(encoding="utf-8") * 10
    started = time.perf_counter()
    for _ in range(20):
        learned.predict(big)
    print(f"latency: {(time.perf_counter() - started) / 20 * 1000:.3f} ms for a {len(big) // 1024} kB prompt")


if __name__ == "__main__":
    main()
