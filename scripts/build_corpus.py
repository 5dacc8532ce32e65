"""Build the classifier corpus: public data sets + prompts written for this project -> train / held-out.

    python scripts/build_corpus.py --sources DIR [--seed 11]

DIR holds the public sets, obtained as data/README.md says (they are not committed): gsm8k_train.jsonl,
gsm8k_test.jsonl, mbpp.jsonl, HumanEval.jsonl.gz. Missing files are skipped with a notice.

Writes data/heldout.jsonl (committed: only prompts written for this project, held out by template or by
a seeded draw), data/build/train.jsonl and data/build/heldout_external.jsonl (public sets; not committed).
Every row: {"prompt", "task", "source", "hard"} where hard is 1 (multi-step), 0 (easy) or null (unlabelled).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus_context
import corpus_templates

ROOT = Path(__file__).resolve().parent.parent
WRITTEN = ROOT / "data" / "written"
BUILD = ROOT / "data" / "build"
HELDOUT_SHARE = 0.25  # of each hand-written file
# Whole templates kept out of training, one or two per task, so held-out tests unseen phrasings.
HELDOUT_TEMPLATES = {"chat-why", "chat-visit", "sum-about", "code-test", "code-how", "rsn-age", "rsn-geom",
                     "cre-email", "cre-role", "ext-label", "saf-creds", "saf-money"}
PER_TEMPLATE = 40
PER_CONTEXT_TASK = 60  # prompts with a pasted document, per task (scripts/corpus_context.py)
GSM8K_TRAIN = 1500
HARD_TASKS_EASY = {"chat": 0, "extract": 0}  # hand-written sets whose prompts are all easy
HARD_TEMPLATES_EASY = {"chat-fact", "chat-greet", "chat-tell", "cre-poem", "cre-names", "cre-translate",
                       "ext-classify", "sum-short"}


def row(prompt: str, task: str, source: str, hard: int | None) -> dict:
    return {"prompt": prompt, "task": task, "source": source, "hard": hard}


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _held_out(prompt: str, seed: int) -> bool:
    """A stable draw: adding a prompt to a file never moves the others across the split."""
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELDOUT_SHARE


def written(seed: int) -> tuple[list[dict], list[dict]]:
    train, held = [], []
    for path in sorted(WRITTEN.glob("*.txt")):
        task = path.stem
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        prompts = [line for line in lines if line and not line.startswith("#")]
        hard = 1 if task == "reasoning" else HARD_TASKS_EASY.get(task)
        for prompt in prompts:
            (held if _held_out(prompt, seed) else train).append(row(prompt, task, f"written/{task}", hard))
    return train, held


def templated(seed: int) -> tuple[list[dict], list[dict]]:
    train, held = [], []
    for prompt, task, template_id in corpus_templates.expand(PER_TEMPLATE, seed):
        hard = 1 if task == "reasoning" else (0 if template_id in HARD_TEMPLATES_EASY else None)
        item = row(prompt, task, f"template/{template_id}", hard)
        (held if template_id in HELDOUT_TEMPLATES else train).append(item)
    for prompt, task, template_id in corpus_context.expand(PER_CONTEXT_TASK, seed):
        train.append(row(prompt, task, f"template/{template_id}", 1 if task == "reasoning" else None))
    return train, held


def public(sources: Path, rng: random.Random) -> tuple[list[dict], list[dict]]:
    train, external = [], []

    def have(name: str) -> Path | None:
        path = sources / name
        if not path.exists():
            print(f"notice: {path} not found, skipped", file=sys.stderr)
            return None
        return path

    if path := have("gsm8k_train.jsonl"):
        items = read_jsonl(path)
        rng.shuffle(items)
        train += [row(x["question"], "reasoning", "gsm8k/train", 1) for x in items[:GSM8K_TRAIN]]
    if path := have("gsm8k_test.jsonl"):
        items = read_jsonl(path)
        rng.shuffle(items)
        external += [row(x["question"], "reasoning", "gsm8k/test", 1) for x in items[:300]]
    if path := have("mbpp.jsonl"):
        for x in read_jsonl(path):
            # MBPP's own split: task ids 11-510 are its test set, the rest train/validation/prompt.
            target = external if 11 <= x["task_id"] <= 510 else train
            target.append(row(x["text"], "code", "mbpp", None))
    if path := have("HumanEval.jsonl.gz"):
        for x in read_jsonl(path):
            number = int(x["task_id"].split("/")[1])
            (train if number % 2 == 0 else external).append(row(x["prompt"].strip(), "code", "humaneval", None))
    return train, external


def dedup(rows: list[dict], seen: set[str]) -> list[dict]:
    kept = []
    for item in rows:
        key = " ".join(item["prompt"].lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for item in rows:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=Path, required=True, help="folder with the public data set files")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if not args.sources.is_dir():
        sys.exit(f"error: --sources {args.sources} is not a folder")
    rng = random.Random(args.seed)
    w_train, w_held = written(args.seed)
    t_train, t_held = templated(args.seed)
    p_train, p_external = public(args.sources, rng)
    seen: set[str] = set()
    # Held-out first, so a prompt that appears twice is dropped from training, never from the test.
    held = dedup(w_held + t_held, seen)
    external = dedup(p_external, seen)
    train = dedup(w_train + t_train + p_train, seen)
    write_jsonl(ROOT / "data" / "heldout.jsonl", held)
    write_jsonl(BUILD / "train.jsonl", train)
    write_jsonl(BUILD / "heldout_external.jsonl", external)
    for name, rows in (("train", train), ("heldout", held), ("heldout_external", external)):
        counts = Counter(item["task"] for item in rows)
        print(f"{name}: {len(rows)}  " + "  ".join(f"{t}={counts[t]}" for t in sorted(counts)))
    by_source = Counter(item["source"].split("/")[0] for item in train + held + external)
    print("by source family: " + "  ".join(f"{s}={n}" for s, n in sorted(by_source.items())))


if __name__ == "__main__":
    main()
