"""Merging the user's routes.yaml over the default: mappings field by field, named lists by name, the rest replaced."""

from __future__ import annotations

from typing import Any

from routecli.policy.located import LineDict, LineList
from routecli.policy.named import NAMED_LISTS, enabled, merge_named
from routecli.policy.problems import Problems


def tag_origin(value: Any, path: str) -> None:
    """Remember the file of every mapping and list, so merged entries still know where they came from."""
    if isinstance(value, (LineDict, LineList)):
        value.source = path  # type: ignore[attr-defined]
        for child in value.values() if isinstance(value, dict) else value:
            tag_origin(child, path)


def _merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key (recursively); anything else in `over` replaces `base`."""
    if not (isinstance(base, LineDict) and isinstance(over, LineDict)):
        return over
    merged = LineDict()
    merged.line, merged.key_lines = over.line, {}
    merged.source = over.source  # type: ignore[attr-defined]
    merged.key_sources = {}  # type: ignore[attr-defined]
    for source in (base, over):
        for key, value in source.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
            merged.key_lines[key] = source.line_of(key)
            merged.key_sources[key] = getattr(source, "key_sources", {}).get(key, source.source)  # type: ignore[attr-defined]
    return merged


def merge_policies(default: LineDict, user: LineDict, problems: Problems | None = None) -> LineDict:
    """`user` over `default`. Mistakes only the merge can see (disabling an entry the default lacks) go to
    `problems`, or are raised here without it."""
    own = problems is None
    problems = Problems() if problems is None else problems
    merged = _merge(default, user)
    # Named lists: a user entry replaces the default one of its name, `enabled: false` removes it, others are added.
    for section, key in NAMED_LISTS:
        extra = (user.get(section) or {}).get(key)
        base_items = (default.get(section) or {}).get(key)
        if extra and isinstance(base_items, LineList):
            label = "rule" if section == "classify" else "hint"
            merged[section][key] = merge_named(base_items, extra, label, problems)
    if user.get("escalation") and default.get("escalation"):
        merged["escalation"] = _merge_levels(default["escalation"], user["escalation"], problems)
    if own:
        problems.raise_if_any()
    return merged


def _merge_levels(default: LineList, user: LineList, problems: Problems) -> LineList:
    """Escalation levels are named by their threshold: the user's level replaces the default one at the same
    `above_tokens`, `enabled: false` removes it, any other is added."""
    by_threshold = {level["above_tokens"]: level for level in default}
    for index, level in enumerate(user):
        if level.get("above_tokens") in by_threshold or enabled(level):
            by_threshold[level.get("above_tokens")] = level
        else:
            known = ", ".join(str(k) for k in by_threshold)
            message = f"no default escalation level at above_tokens {level.get('above_tokens')} (known: {known})"
            problems.report(getattr(level, "source", "?"), user.line_of(index), message)
    levels = LineList(by_threshold[k] for k in sorted(by_threshold, key=lambda k: k or 0) if enabled(by_threshold[k]))
    levels.line, levels.item_lines = user.line, [lv.line for lv in levels]
    levels.source = user.source  # type: ignore[misc]
    return levels
