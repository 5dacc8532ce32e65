"""Reading a labelled prompt file for `route eval`: JSON lines, or a YAML list, of {prompt, task, ...}.

Both shapes the repository holds are read: `data/heldout.jsonl` (prompt, task, source, hard) and
`tests/data/labelled_prompts.yaml` (prompt, task). Optional fields: `acceptable_models` (aliases), `min_tier`,
and `tokens` or `size` (bytes) when the prompt stands for a larger input. Unknown fields are ignored. A malformed
entry is one error naming file:line (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from routecli.errors import InputError, UsageError
from routecli.policy.types import TASKS
from routecli.routing.evaluate import LabelledPrompt

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
MAX_LABELLED_BYTES = 64 * 1024 * 1024  # ~100,000 labelled prompts; /dev/zero or an endless pipe stops here


def read_labelled(path: Path) -> list[LabelledPrompt]:
    """`path` may be `-` for stdin. Read as prompts are: NUL bytes refuse it at once, and past
    MAX_LABELLED_BYTES it is refused, so no input can exhaust memory."""
    from routecli.routing.inputs import read_bounded

    name = "stdin" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            data = read_bounded(sys.stdin.buffer, name, MAX_LABELLED_BYTES)
        else:
            with path.open("rb") as handle:
                data = read_bounded(handle, name, MAX_LABELLED_BYTES)
        text = bytes(data).decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{name} is not UTF-8 text") from None
    if path.suffix.lower() in JSON_SUFFIXES or (path.suffix.lower() not in (".yaml", ".yml")
                                                 and text.lstrip().startswith("{")):
        items = _json_lines(text, name)
    else:
        items = _yaml_list(path, text)
    if not items:
        raise InputError(f"{path}: no labelled prompts")
    return items


def _json_lines(text: str, name: str) -> list[LabelledPrompt]:
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{name}:{number}: not a JSON object ({exc.msg})") from None
        items.append(_item(data, name, number))
    return items


def _yaml_list(path: Path, text: str) -> list[LabelledPrompt]:
    from routecli.errors import PolicyError
    from routecli.policy.yamlfile import load_yaml

    try:
        data, duplicates = load_yaml(path, text)
    except PolicyError as exc:  # a YAML syntax error, with its file:line, but not "policy" in the words
        raise UsageError(exc.message) from None
    if duplicates:  # a key written twice in one entry: which of the two was meant is not ours to guess
        raise UsageError(duplicates[0].message)
    if data is None:
        return []
    if not isinstance(data, list):
        raise UsageError(f"{path}:{getattr(data, 'line', 1) or 1}: expected a list of {{prompt, task}} entries")
    lines = getattr(data, "item_lines", [])
    return [_item(entry, str(path), lines[i] if i < len(lines) else 1) for i, entry in enumerate(data)]


def _item(data: Any, name: str, line: int) -> LabelledPrompt:
    where = f"{name}:{line}"
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected an object with prompt and task")
    prompt, task = data.get("prompt"), data.get("task")
    if not isinstance(prompt, str) or not prompt.strip():
        raise UsageError(f"{where}: 'prompt' must be a non-empty string")
    if task not in TASKS:
        raise UsageError(f"{where}: 'task' must be one of {', '.join(TASKS)} (got {task!r})")
    acceptable = data.get("acceptable_models")
    if acceptable is not None and (
        not isinstance(acceptable, list) or not acceptable or not all(isinstance(a, str) for a in acceptable)
    ):
        raise UsageError(f"{where}: 'acceptable_models' must be a list of model aliases")
    return LabelledPrompt(
        prompt=prompt,
        task=task,
        line=line,
        acceptable_models=tuple(acceptable) if acceptable else None,
        min_tier=_whole(data, "min_tier", where),
        tokens=_whole(data, "tokens", where),
        size=_whole(data, "size", where),
    )


def _whole(data: dict[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}: '{key}' must be a whole number >= 1 (got {value!r})")
    return value
