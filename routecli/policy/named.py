"""Named entries of the policy's lists (`classify.rules`, `complexity.hints`), merged so a user can reason about them.

Every entry has a name. A user entry with a default entry's name replaces it in place; `enabled: false` removes it;
any other user entry is added before the default ones. An entry identical to the default one changes nothing: the
default entry stays, with its own file:line, so a copy of the default policy decides and explains exactly as no
policy does. An entry without a name (a policy written before names existed) gets one derived from its content,
`<task>-<6 hex>` for a rule and `hint-<6 hex>` for a hint, stable however the file is edited around it; an unnamed
entry identical to a default one takes the default's name (an old copy of the default counts each rule once).
"""

from __future__ import annotations

import json
from typing import Any

from routecli.policy.located import LineDict, LineList
from routecli.policy.problems import Problems

NAMED_LISTS = (("classify", "rules"), ("complexity", "hints"))
_NOT_CONTENT = ("name", "enabled")


def content(entry: dict[str, Any]) -> str:
    """What an entry does (everything but its name and switch), comparable across files."""
    return json.dumps({k: v for k, v in entry.items() if k not in _NOT_CONTENT}, sort_keys=True, default=str)


def enabled(entry: dict[str, Any]) -> bool:
    return entry.get("enabled", True) is not False


def _derived_name(entry: dict[str, Any], section: str) -> str:
    import hashlib  # only for a policy with unnamed entries

    task = entry.get("task")
    prefix = task if section == "classify" and isinstance(task, str) else "hint"
    return f"{prefix}-{hashlib.sha1(content(entry).encode()).hexdigest()[:6]}"


def _set_name(entry: LineDict, name: str) -> None:
    """Name first, as a written entry has it (so `policy show` reads naturally); the mapping keeps its lines."""
    rest = [(k, v) for k, v in entry.items() if k != "name"]
    entry.clear()
    entry["name"] = name
    entry.update(rest)


def name_entries(items: Any, section: str, path: str, problems: Problems) -> None:
    """Give each entry of one file's list a name (its own, or a derived one); report a name given twice."""
    if not isinstance(items, LineList):
        return
    seen: set[str] = set()
    for index, entry in enumerate(items):
        if not isinstance(entry, LineDict):
            continue
        if "name" in entry:
            if entry["name"] in seen:
                problems.report(path, items.line_of(index), f"{section} name '{entry['name']}' is used twice")
            seen.add(entry["name"])
            continue
        name = base = _derived_name(entry, section)
        count = 1
        while name in seen:  # the same unnamed entry written twice: both kept, as before names
            count += 1
            name = f"{base}-{count}"
        seen.add(name)
        _set_name(entry, name)
        entry.derived_name = True  # type: ignore[attr-defined]


def merge_named(default: LineList, user: LineList, label: str, problems: Problems) -> LineList:
    """The default entries with the user's replacing, removing or adding to them (see the module's docstring)."""
    by_name = {entry["name"]: entry for entry in default}
    by_content = {content(entry): entry["name"] for entry in default}
    replaced: dict[str, LineDict] = {}
    added: list[LineDict] = []
    for index, entry in enumerate(user):
        name = entry["name"]
        if getattr(entry, "derived_name", False) and content(entry) in by_content:
            name = by_content[content(entry)]  # an unnamed copy of a default entry is that entry
            _set_name(entry, name)
        if name in by_name:
            replaced[name] = entry
        elif not enabled(entry):
            message = f"no default {label} named '{name}' (known: {', '.join(by_name)})"
            problems.report(getattr(entry, "source", "?"), user.line_of(index), message)
        else:
            added.append(entry)
    result = LineList(added)  # the user's new entries first: they are tried first and win ties
    for entry in default:
        over = replaced.get(entry["name"], entry)
        if enabled(over):
            result.append(entry if content(over) == content(entry) else over)
    result.line = user.line
    result.item_lines = [entry.line for entry in result]
    result.source = user.source  # type: ignore[misc]
    return result
