"""What the user's policy file changes in the default one: each setting added, changed or removed, and where.

Compared after merging, so a setting the user wrote with the default's own value is no change. Named lists are
compared by name (`classify.rules.deploy`, `complexity.hints.greeting`) and escalation levels by threshold
(`escalation.50000`), as they are merged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from routecli.policy.located import LineDict
from routecli.policy.named import NAMED_LISTS
from routecli.policy.types import Origin
from routecli.values import frozen

_BY_NAME = {f"{section}.{key}" for section, key in NAMED_LISTS}


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # the old value of an added setting, the new value of a removed one


@frozen
class Change:
    path: str  # e.g. models.claude-haiku.tier
    old: Any  # ABSENT: added by the user
    new: Any  # ABSENT: removed by the user (`enabled: false`)
    origin: Origin  # the file:line that made the change

    @property
    def kind(self) -> str:
        return "added" if self.old is ABSENT else "removed" if self.new is ABSENT else "changed"


def _keyed(path: str, value: Any) -> Any:
    """A named list as a mapping from name (or threshold) to entry; anything else as it is."""
    if path in _BY_NAME and isinstance(value, list):
        return {entry.get("name"): entry for entry in value if isinstance(entry, dict)}
    if path == "escalation" and isinstance(value, list):
        return {str(level.get("above_tokens")): level for level in value if isinstance(level, dict)}
    return value


def _origin(container: Any, key: str) -> Origin:
    """Where `container[key]` was written: a key of a mapping from the files, or an entry of a named list."""
    if isinstance(container, LineDict):
        sources = getattr(container, "key_sources", {})
        return Origin(sources.get(key, container.source), container.line_of(key))
    entry = container.get(key) if isinstance(container, dict) else None
    return Origin(getattr(entry, "source", "?"), getattr(entry, "line", 0))


def _at(raw: Any, path: str) -> Any:
    """The value at a dotted path of a file (named lists by name), or None."""
    value = raw
    walked = ""
    for part in path.split("."):
        value = _keyed(walked, value)
        walked = f"{walked}.{part}" if walked else part
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _walk(path: str, old: Any, new: Any, user: LineDict, out: list[Change]) -> None:
    old, new = _keyed(path, old), _keyed(path, new)
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return
    for key, value in new.items():
        sub = f"{path}.{key}" if path else str(key)
        if key not in old:
            out.append(Change(sub, ABSENT, value, _origin(new, key)))
        elif isinstance(_keyed(sub, value), dict) and isinstance(_keyed(sub, old[key]), dict):
            _walk(sub, old[key], value, user, out)
        elif value != old[key]:
            out.append(Change(sub, old[key], value, _origin(new, key)))
    for key, value in old.items():
        if key not in new:  # only a named entry can go: switched off in the user's file
            sub = f"{path}.{key}" if path else str(key)
            switch = _at(user, sub)
            origin = Origin(getattr(switch, "source", "?"), getattr(switch, "line", 0))
            out.append(Change(sub, value, ABSENT, origin))


def policy_changes(default: LineDict, merged: LineDict, user: LineDict) -> list[Change]:
    """Every setting in which `merged` (the default with `user` over it) differs from `default`, in file order."""
    changes: list[Change] = []
    _walk("", default, merged, user, changes)
    return changes


def user_changes(explicit: str | None, config_dir: Path) -> tuple[tuple[str, ...], list[Change]]:
    """The policy files in use (the default first) and what the user's changes, read afresh (no cache)."""
    from routecli.policy.build import build_policy
    from routecli.policy.load import default_policy_path, same_file, user_policy_path
    from routecli.policy.merge import merge_policies
    from routecli.policy.problems import Problems
    from routecli.policy.schema import read_policy_file

    default_path = default_policy_path()
    user_path = user_policy_path(explicit, config_dir)
    if user_path is None or same_file(user_path, default_path):
        return (str(default_path),), []
    sources = (str(default_path), str(user_path))
    problems = Problems()
    user = read_policy_file(user_path, problems)
    merged = merge_policies(read_policy_file(default_path, problems), user, problems)
    build_policy(merged, sources, problems)  # a broken policy: every problem at its file:line, nothing shown
    return sources, policy_changes(read_policy_file(default_path), merged, user)
