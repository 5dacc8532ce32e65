"""Classification against the labelled prompt set in tests/data (written without looking at the rules)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from routecli.policy.load import load_policy
from routecli.routing import learned
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
    assert any(e.startswith("summarize +") and "(default policy:" in e for e in choice.evidence), choice.evidence


def test_instruction_outweighs_attached_input(policy):
    code = "def f(x):\n    return x * 2\n\nclass Foo:\n    pass\n" * 20
    assert classify(policy, "summarize this", code, 400).task == "summarize"
    assert classify(policy, "", code, 400).task == "code"


def test_no_rule_and_an_unsure_model_fall_back_to_default(policy):
    unsure = learned.Prediction("code", 0.3, {"code": 0.3}, (), 0.0)
    choice = classify(policy, "zzz qqq", "", 3, prediction=unsure)
    assert choice.task == policy.classification.default
    assert "default" in choice.evidence[0]


def test_a_confident_model_decides_where_no_rule_matches(policy):
    sure = learned.Prediction("reasoning", 0.9, {"reasoning": 0.9}, ("how many",), 0.95)
    choice = classify(policy, "zzz qqq", "", 3, prediction=sure)
    assert choice.task == "reasoning" and choice.evidence == ("model: reasoning 0.90 ('how many')",)


def test_a_safety_rule_beats_a_confident_model(policy):
    sure = learned.Prediction("chat", 0.99, {"chat": 0.99}, (), 0.0)
    choice = classify(policy, "rm -rf / on the production server now", "", 10, prediction=sure)
    assert choice.task == "safety"


def test_the_model_reads_word_problems_as_reasoning_and_makes_them_harder(policy):
    prompt = "Tom has 3 boxes with 12 apples each. He gives away 7 apples. How many apples are left?"
    assert classify(policy, prompt, "", 30).task == "reasoning"
    assert estimate_complexity(policy, prompt, "", 30).level > policy.complexity.base


def test_complexity_hints_raise_the_level(policy):
    simple = estimate_complexity(policy, "write a function that adds two numbers", "", 10)
    hard = estimate_complexity(policy, "refactor the distributed, thread-safe scheduler end-to-end", "", 10)
    assert hard.level > simple.level
    assert hard.tier_shift > simple.tier_shift


def test_a_specific_rule_beats_a_model_that_only_says_chat(policy):
    """Chat is what is left when nothing specific is asked: an unsure 'chat' yields to a rule naming a task."""
    lukewarm = learned.Prediction("chat", 0.55, {"chat": 0.55, "creative": 0.2}, (), 0.0)
    choice = classify(policy, "Übersetze ins Französische: Guten Morgen", "", 10, prediction=lukewarm)
    assert choice.task == "creative"
    sure = learned.Prediction("chat", 0.9, {"chat": 0.9}, (), 0.0)
    assert classify(policy, "Übersetze ins Französische: Guten Morgen", "", 10, prediction=sure).task == "chat"
    other = learned.Prediction("extract", 0.55, {"extract": 0.55}, (), 0.0)  # only chat is weak evidence
    assert classify(policy, "Übersetze ins Französische: Guten Morgen", "", 10, prediction=other).task == "extract"


def test_the_model_reading_safety_wins_at_a_lower_confidence(policy):
    wary = learned.Prediction("safety", 0.45, {"safety": 0.45}, (), 0.0)
    assert classify(policy, "zzz qqq", "", 3, prediction=wary).task == "safety"
    unsure = learned.Prediction("code", 0.45, {"code": 0.45}, (), 0.0)
    assert classify(policy, "zzz qqq", "", 3, prediction=unsure).task == policy.classification.default


@pytest.mark.parametrize("prompt", [
    "why is the sky blue?",
    "Why do cats purr when they are happy?",
    "Plan a three-day trip to Rome for a couple who love food.",
    "Compare the climate of Lisbon and Madrid.",
])
def test_open_questions_and_plans_are_no_reasoning_by_rule(policy, prompt):
    """A why-question or a travel plan is chat; only a puzzle, a proof, a sum or a decision is reasoning by rule."""
    assert "reasoning" not in classify(policy, prompt, "", 10).scores


def test_reasoning_rules_still_catch_decisions_and_estimates(policy):
    assert "reasoning" in classify(policy, "Should I rent or buy? Weigh the trade-offs.", "", 10).scores
    assert "reasoning" in classify(policy, "Estimate how many golf balls fit in a bus.", "", 10).scores
    assert "reasoning" in classify(policy, "Plan the order of the steps to move our servers.", "", 10).scores
    assert "reasoning" in classify(policy, "Why is a lookup in a balanced tree O(log n)?", "", 10).scores


@pytest.mark.parametrize(("prompt", "task"), [
    ("Write an engaging and well-written property listing description for a flat by the sea.", "creative"),
    ("Create a brief resume introduction for a nurse moving into teaching.", "creative"),
    ("Draft a ministerial speech on the benefits of innovation.", "creative"),
    ("Write a Python function that reverses a list.", "code"),  # no prose artefact: the creative rule is silent
])
def test_a_request_for_a_written_piece_is_creative_by_rule(policy, prompt, task):
    assert ("creative" in classify(policy, prompt, "", 10).scores) == (task == "creative")


@pytest.mark.parametrize(("prompt", "task"), [
    ("Structure a podcast script for an episode on how streaming changed the music industry.", "creative"),
    ("Write a video script about the history of jazz.", "creative"),
    ("Draft the script of our product launch presentation.", "creative"),
    ("Write a shell script to rotate logs every night.", "code"),
    ("a python script for a video converter", "code"),  # a program that handles video is still a program
])
def test_a_script_for_a_podcast_or_video_is_writing_not_code(policy, prompt, task):
    scores = classify(policy, prompt, "", 10).scores
    assert max(scores, key=scores.__getitem__) == task, scores


def test_giving_reasons_is_no_reasoning_task(policy):
    assert "reasoning" not in classify(policy, "Suggest a city to visit and give your reasons.", "", 10).scores
    assert "reasoning" in classify(policy, "Explain your reasoning for this logic puzzle.", "", 10).scores


@pytest.mark.parametrize("prompt", [
    "Pretend yourself to be a famous chef and greet me.",
    "Embrace the role of a grumpy librarian and answer my questions.",
    "Take on the role of a ship captain welcoming passengers.",
])
def test_every_way_of_casting_a_role_is_role_play(policy, prompt):
    assert "creative" in classify(policy, prompt, "", 10).scores
