"""Train the task classifier and its difficulty head; write routecli/routing/task_model.bin.

    pip install -e '.[train]'          # scikit-learn, for training only
    python scripts/build_corpus.py --sources DIR
    python scripts/train_classifier.py [--seed 7] [--C 10]

Features come from routecli.routing.learned.features, the function the runtime scorer uses, so the two
cannot drift. Prints held-out accuracy per task and the confusion matrix (data/heldout.jsonl, and the
public sets' held-out part when built), then checks that the pure-Python scorer, reading the pruned and
rounded weights, agrees with scikit-learn on the held-out prompts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
except ImportError:
    sys.exit("error: scikit-learn is missing; install the training extra: pip install -e '.[train]'")

from routecli.routing import learned  # noqa: E402

TASKS = ("chat", "summarize", "code", "reasoning", "creative", "extract", "safety")
SCALE = 1000  # weights kept to 3 decimals
PRUNE_BELOW = 0.2  # a feature whose every weight is smaller than this is dropped


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def vectorise(rows: list[dict]) -> list[dict[str, float]]:
    out = []
    for item in rows:
        found = learned.features(item["prompt"])
        value = 1.0 / math.sqrt(len(found)) if found else 0.0
        out.append(dict.fromkeys(found, value))
    return out


def report(name: str, truth: list[str], guess: list[str]) -> float:
    right = sum(t == g for t, g in zip(truth, guess, strict=True))
    present = [t for t in TASKS if t in truth]
    print(f"\n{name}: {right}/{len(truth)} = {right / len(truth):.3f}")
    for task in present:
        mine = [g for t, g in zip(truth, guess, strict=True) if t == task]
        print(f"  {task:<10} {sum(g == task for g in mine) / len(mine):.3f}  (n={len(mine)})")
    print("  confusion (rows: truth, columns: predicted)")
    print("  " + " " * 10 + "".join(f"{t[:6]:>7}" for t in TASKS))
    for task in present:
        cells = [sum(1 for t, g in zip(truth, guess, strict=True) if t == task and g == p) for p in TASKS]
        print(f"  {task:<10}" + "".join(f"{c:>7}" for c in cells))
    return right / len(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--C", type=float, default=10.0, help="inverse regularisation strength")
    args = parser.parse_args()
    train_path = ROOT / "data" / "build" / "train.jsonl"
    if not train_path.exists():
        sys.exit("error: data/build/train.jsonl is missing; run scripts/build_corpus.py first")
    train = read(train_path)
    vectoriser = DictVectorizer()
    x_train = vectoriser.fit_transform(vectorise(train))
    task_head = LogisticRegression(C=args.C, class_weight="balanced", max_iter=3000, random_state=args.seed)
    task_head.fit(x_train, [item["task"] for item in train])
    graded = [i for i, item in enumerate(train) if item["hard"] is not None]
    hard_head = LogisticRegression(C=args.C / 3, class_weight="balanced", max_iter=3000, random_state=args.seed)
    hard_head.fit(x_train[graded], [train[i]["hard"] for i in graded])

    order = [list(task_head.classes_).index(task) for task in TASKS]
    names = vectoriser.get_feature_names_out()
    columns = [task_head.coef_[i] for i in order] + [hard_head.coef_[0]]
    weights = {}
    for j, name in enumerate(names):
        row = [column[j] for column in columns]
        if max(abs(value) for value in row) >= PRUNE_BELOW:
            weights[str(name)] = [round(value * SCALE) for value in row]
    bias = [round(task_head.intercept_[i] * SCALE) for i in order] + [round(hard_head.intercept_[0] * SCALE)]
    header = {"tasks": list(TASKS), "scale": SCALE, "bias": bias, "trained_on": len(train), "seed": args.seed,
              "C": args.C}
    out = learned.WEIGHTS_PATH
    learned.write_model(out, header, weights)
    print(f"wrote {out.relative_to(ROOT)}: {len(weights)} of {len(names)} features, {out.stat().st_size // 1024} kB")

    learned._model = None  # read the file just written
    for label, path in (("held-out (data/heldout.jsonl)", ROOT / "data" / "heldout.jsonl"),
                        ("held-out, public sets (not committed)", ROOT / "data" / "build" / "heldout_external.jsonl")):
        if not path.exists():
            continue
        rows = read(path)
        x = vectoriser.transform(vectorise(rows))
        sk = list(task_head.predict(x))
        report(f"{label}, scikit-learn", [r["task"] for r in rows], sk)
        pure = [learned.predict(r["prompt"]) for r in rows]
        agree = sum(p.task == s for p, s in zip(pure, sk, strict=True))
        proba = task_head.predict_proba(x)
        gap = max(abs(p.probabilities[t] - proba[k][list(task_head.classes_).index(t)])
                  for k, p in enumerate(pure) for t in TASKS)
        print(f"  pure scorer vs scikit-learn: same task on {agree}/{len(rows)}, largest probability gap {gap:.3f}")
        if agree < 0.99 * len(rows):
            sys.exit("error: the pure scorer disagrees with scikit-learn; lower PRUNE_BELOW")
        report(f"{label}, pure scorer", [r["task"] for r in rows], [p.task for p in pure])
        graded_rows = [(r, p) for r, p in zip(rows, pure, strict=True) if r["hard"] is not None]
        if graded_rows:
            right = sum((p.hard >= 0.5) == bool(r["hard"]) for r, p in graded_rows)
            print(f"  difficulty head: {right}/{len(graded_rows)} hard/easy right")


if __name__ == "__main__":
    main()
