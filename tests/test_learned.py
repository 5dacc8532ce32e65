"""The learned task classifier (routecli.routing.learned) against the committed held-out split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from routecli.routing import learned

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "heldout.jsonl"


@pytest.fixture(scope="module")
def heldout() -> list[dict]:
    with HELDOUT.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_heldout_accuracy_floor(heldout):
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in heldout:
        total[row["task"]] += 1
        right[row["task"]] += learned.predict(row["prompt"]).task == row["task"]
    overall = sum(right.values()) / sum(total.values())
    per_task = {task: right[task] / total[task] for task in total}
    assert set(total) == set(learned._load().tasks), "every task must be in the held-out split"
    assert overall >= 0.92, f"held-out accuracy {overall:.3f} < 0.92"
    assert min(per_task.values()) >= 0.85, f"a task below 0.85: {per_task}"


def test_heldout_never_seen_in_training(heldout):
    """The committed held-out prompts are disjoint from the hand-written training lines."""
    train_lines = set()
    for path in (HELDOUT.parent / "written").glob("*.txt"):
        train_lines |= {line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()}
    held_written = [row for row in heldout if row["source"].startswith("written/")]
    assert held_written, "held-out has hand-written prompts"
    # Every hand-written held-out prompt comes from the files, and each appears there only once.
    for row in held_written:
        assert row["prompt"].strip().lower() in train_lines
    assert len({row["prompt"].lower() for row in heldout}) == len(heldout)


def test_prediction_shape():
    found = learned.predict("Write a haiku about the first snow of the year")
    assert found.task == "creative"
    assert abs(sum(found.probabilities.values()) - 1.0) < 1e-9
    assert found.confidence == max(found.probabilities.values())
    assert 0.0 <= found.hard <= 1.0


def test_top_features_are_words_a_person_can_read():
    found = learned.predict("Ann has two sisters. Each sister has one brother. How many brothers has Ann?")
    assert found.top_features
    for name in found.top_features:
        assert all(word.isalnum() for word in name.split(" ")), name
        assert any(len(word) > 2 for word in name.split(" ")), name


def test_numbers_are_folded():
    """Digits become 0, so a word problem with new numbers looks like the ones trained on."""
    assert learned.features("pay 12 now") == learned.features("pay 47 now")


def test_difficulty_separates_word_problems_from_small_talk():
    puzzle = learned.predict(
        "A shop sells pens at 3 for $2. Maria buys 12 pens and pays with a $20 note. How much change does she get?"
    )
    small_talk = learned.predict("what's the capital of Norway?")
    assert puzzle.task == "reasoning" and puzzle.hard > 0.5
    assert small_talk.hard < 0.5


def test_only_the_head_is_scored():
    """A huge prompt is scored on its first HEAD_CHARS characters: what follows cannot change the answer."""
    head = "Summarize the following meeting notes for the team.\n"
    padding = "x " * learned.HEAD_CHARS
    assert learned.predict(head + padding + "def f(): pass\n" * 5000) == learned.predict(head + padding)


def test_empty_prompt_does_not_crash():
    assert learned.predict("").task in learned._load().tasks


def test_the_opening_words_are_features_of_their_own():
    """An instruction's first words weigh twice: 'rewrite' at the start says more than 'rewrite' deep in a text."""
    found = learned.features("Rewrite this for a child: the mitochondria produce energy for the cell")
    assert {"h:rewrite", "h:this", "h:child"} <= set(found)
    assert "h:energy" not in found and "w:energy" in found  # past OPENING_WORDS only the plain word counts
