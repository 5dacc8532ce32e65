"""A learned task classifier: a linear model over word and character n-grams, scored in pure Python.

The weights (task_model.bin beside this module) are trained by scripts/train_classifier.py; this module
only reads them, on the first call, and keeps them in module state. Stdlib only, so routing gains no
runtime dependency. Only the first HEAD_CHARS characters are scored: the instruction decides the task,
and it keeps a 100 kB prompt as fast as a short one.

The file is read on every `route explain`, so its format is chosen for loading, not for reading: a JSON
header line, then every feature's weights as little-endian 16-bit integers (one array, no parsing), then
the feature names, one per line. Loading takes ~1 ms where the same weights as JSON took ~12 ms.
"""

from __future__ import annotations

import json
import math
import re
import sys
from array import array
from pathlib import Path

from routecli.values import frozen

HEAD_CHARS = 2000
WEIGHTS_PATH = Path(__file__).with_name("task_model.bin")
FORMAT = 2  # 1 was the JSON file of the first release
_TOKEN = re.compile(r"\w+|[^\w\s]")
OPENING_WORDS = 8  # the first words are where people say what they want ("rewrite ...", "classify ...")
_DIGIT = re.compile(r"\d")
# Weighty but uninformative to a reader; left out of the evidence shown (never out of the score).
_FILLER = frozenset({
    "the", "and", "for", "you", "your", "are", "was", "has", "have", "with", "this", "that", "what", "how", "from",
    "into", "all", "any", "can",
})


@frozen
class Prediction:
    task: str
    confidence: float  # probability of `task`
    probabilities: dict[str, float]
    top_features: tuple[str, ...]  # words and word pairs that pushed most toward `task`
    hard: float  # 0..1: how likely the prompt is a multi-step problem (word problem, puzzle, proof)


@frozen
class _Model:
    tasks: tuple[str, ...]
    bias: tuple[float, ...]  # one per task, then the difficulty head's
    rows: dict[str, int]  # feature -> its row in `weights`
    weights: array  # row after row: one weight per task, then the difficulty head's, times scale
    scale: float

    def row(self, feature: str) -> array | None:
        index = self.rows.get(feature)
        if index is None:
            return None
        width = len(self.bias)
        return self.weights[index * width : (index + 1) * width]


def write_model(path: Path, header: dict, weights: dict[str, list[int]]) -> None:
    """Write the trained weights (`header` holds tasks, scale, bias and how it was trained)."""
    names = sorted(weights)
    if any("\n" in name for name in names):
        raise ValueError("a feature name holds a newline")  # impossible: features never hold whitespace but ' '
    flat = array("h", (value for name in names for value in weights[name]))  # int16: raises if one is too big
    if sys.byteorder != "little":
        flat.byteswap()
    head = json.dumps({**header, "format": FORMAT, "features": len(names)}, separators=(",", ":"))
    path.write_bytes(head.encode() + b"\n" + flat.tobytes() + "\n".join(names).encode("utf-8"))


_model: _Model | None = None


def features(text: str) -> list[str]:
    """Distinct features of a prompt; the training script uses this very function, so both agree.

    w: words (digits folded to 0, so numbers generalise), b: word pairs (with ^ marking the start),
    c: character 3- and 4-grams inside words (spelling variants, other languages, code identifiers),
    h: the opening words again, so an instruction counts for more than the text pasted after it.
    """
    normal = _DIGIT.sub("0", text[:HEAD_CHARS].lower())
    tokens = _TOKEN.findall(normal)
    found = {f"w:{token}" for token in tokens}
    found.update(f"h:{token}" for token in tokens[:OPENING_WORDS])
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


def read_model(path: Path) -> _Model:
    data = path.read_bytes()
    end = data.index(b"\n")
    header = json.loads(data[:end])
    if header.get("format") != FORMAT:
        raise ValueError(f"{path.name}: format {header.get('format')}, this route reads {FORMAT}")
    width = len(header["bias"])
    size = header["features"] * width * 2
    weights = array("h")
    weights.frombytes(data[end + 1 : end + 1 + size])
    if sys.byteorder != "little":
        weights.byteswap()
    names = data[end + 1 + size :].decode("utf-8").split("\n")
    scale = header["scale"]  # integers keep the file small; they stay integers (no conversion at load)
    bias = tuple(value / scale for value in header["bias"])
    return _Model(tuple(header["tasks"]), bias, dict(zip(names, range(len(names)), strict=True)), weights, scale)


def _load() -> _Model:
    global _model
    if _model is None:
        _model = read_model(WEIGHTS_PATH)
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
        row = model.row(name)
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
