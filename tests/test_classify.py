"""Classification against the labelled prompt set in tests/data (written without looking at the rules)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from routecli.policy.load import load_policy
from routecli.routing.classify import classify, estimate_complexity

DATA = Path(__file__).parent / "data" / "labelled_prompts.yaml"
MIN_ACCURACY = 0.85


@pytest.fixture(scope="module")
def policy():
    return load_policy(None, Path("/nonexistent-config-dir"))


def _predict(policy, prompt: str) -> str:
    return classify(policy, prompt, "", max(1, len(prompt) // 4)).task


def test_labelled_set_accuracy(policy, capsys):
    items = yaml.safe_load(DATA.read_text())
    assert len(items) >= 60
    wrong = []
    per_task: Counter[str] = Counter()
    right_per_task: Counter[str] = Counter()
    for item in items:
        got = _predict(policy, item["prompt"])
        per_task[item["task"]] += 1
        if got == item["task"]:
            right_per_task[item["task"]] += 1
        else:
            wrong.append((item["task"], got, item["prompt"][:70].replace("\n", " ")))
    accuracy = 1 - len(wrong) / len(items)
    with capsys.disabled():
        print(f"\nclassifier accuracy: {accuracy:.1%} ({len(items) - len(wrong)}/{len(items)})")
        for task in sorted(per_task):
            print(f"  {task:10} {right_per_task[task]}/{per_task[task]}")
        for expected, got, prompt in wrong:
            print(f"  miss: expected {expected:9} got {got:9} {prompt}")
    assert accuracy >= MIN_ACCURACY


def test_evidence_names_rule_and_match(policy):
    choice = classify(policy, "please summarize the attached notes", "", 10)
    assert choice.task == "summarize"
    assert any("summarize" in e and "routes.yaml" in e for e in choice.evidence)


def test_instruction_outweighs_attached_input(policy):
    code = "def f(x):\n    return x * 2\n\nclass Foo:\n    pass\n" * 20
    assert classify(policy, "summarize this", code, 400).task == "summarize"
    assert classify(policy, "", code, 400).task == "code"


def test_no_match_falls_back_to_default(policy):
    choice = classify(policy, "zzz qqq", "", 3)
    assert choice.task == policy.classification.default
    assert "default" in choice.evidence[0]


def test_complexity_hints_raise_the_level(policy):
    simple = estimate_complexity(policy, "write a function that adds two numbers", "", 10)
    hard = estimate_complexity(policy, "refactor the distributed, thread-safe scheduler end-to-end", "", 10)
    assert hard.level > simple.level
    assert hard.tier_shift > simple.tier_shift
