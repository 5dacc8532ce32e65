"""A learned task classifier: a linear model over word and character n-grams, scored in pure Python.

The weights (task_model.json beside this module) are trained by scripts/train_classifier.py; this module
only reads them, on the first call, and keeps them in module state. Stdlib only, so routing gains no
runtime dependency. Only the first HEAD_CHARS characters are scored: the instruction decides the task,
and it keeps a 100 kB prompt as fast as a short one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

HEAD_CHARS = 2000
WEIGHTS_PATH = Path(__file__).with_name("task_model.json")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_DIGIT = re.compile(r"\d")
# Weighty but uninformative to a reader; left out of the evidence shown (never out of the score).
_FILLER = frozenset({
    "the", "and", "for", "you", "your", "are", "was", "has", "have", "with", "this", "that", "what", "how", "from",
    "into", "all", "any", "can",
})


@dataclass(frozen=True)
class Prediction:
    task: str
    confidence: float  # probability of `task`
    probabilities: dict[str, float]
    top_features: tuple[str, ...]  # words and word pairs that pushed most toward `task`
    hard: float  # 0..1: how likely the prompt is a multi-step problem (word problem, puzzle, proof)


@dataclass(frozen=True)
class _Model:
    tasks: tuple[str, ...]
    bias: tuple[float, ...]  # one per task, then the difficulty head's
    weights: dict[str, list[int]]  # feature -> one weight per task, then the difficulty head's, times scale
    scale: float


_model: _Model | None = None


def features(text: str) -> list[str]:
    """Distinct features of a prompt; the training script uses this very function, so both agree.

    w: words (digits folded to 0, so numbers generalise), b: word pairs (with ^ marking the start),
    c: character 3- and 4-grams inside words (spelling variants, other languages, code identifiers).
    """
    normal = _DIGIT.sub("0", text[:HEAD_CHARS].lower())
    tokens = _TOKEN.findall(normal)
    found = {f"w:{token}" for token in tokens}
    previous = "^"
    for token in tokens:
        found.add(f"b:{previous} {token}")
        previous = token
    for token in tokens:
        if len(token) > 1 and token[0].isalnum():
            padded = f" {token} "
            for size in (3, 4):
                for start in range(len(padded) - size + 1):
                    found.add("c:" + padded[start : start + size])
    return sorted(found)


def _readable(name: str) -> bool:
    """Words and word pairs worth showing a person: no punctuation, not only short words like 'a'."""
    if name[0] not in "wb":
        return False
    words = name[2:].removeprefix("^ ").split(" ")
    if not all(word.isalnum() for word in words):
        return False
    return any(len(word) > 2 and word not in _FILLER for word in words)


def _load() -> _Model:
    global _model
    if _model is None:
        data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
        scale = data["scale"]  # integers keep the file small; they stay integers (no conversion at load)
        _model = _Model(tuple(data["tasks"]), tuple(value / scale for value in data["bias"]), data["weights"], scale)
    return _model


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def predict(text: str, top: int = 5) -> Prediction:
    model = _load()
    found = features(text)
    value = 1.0 / math.sqrt(len(found)) / model.scale if found else 0.0  # L2-normalised binary features
    width = len(model.bias)
    scores = list(model.bias)
    hits = []
    for name in found:
        row = model.weights.get(name)
        if row is not None:
            hits.append((name, row))
            for index in range(width):
                scores[index] += row[index] * value
    probabilities = _softmax(scores[:-1])
    best = max(range(len(model.tasks)), key=probabilities.__getitem__)
    readable = sorted(((row[best], name[2:]) for name, row in hits if row[best] > 0 and _readable(name)), reverse=True)
    return Prediction(
        task=model.tasks[best],
        confidence=probabilities[best],
        probabilities=dict(zip(model.tasks, probabilities, strict=True)),
        top_features=tuple(dict.fromkeys(name.removeprefix("^ ") for _, name in readable))[:top],
        hard=1.0 / (1.0 + math.exp(-scores[-1])),
    )
