"""Merging the user's routes.yaml over the default: mappings field by field, the rest replaced."""

from __future__ import annotations

from typing import Any

from routecli.policy.located import LineDict, LineList


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


def merge_policies(default: LineDict, user: LineDict) -> LineDict:
    merged = _merge(default, user)
    # Lists of rules and escalation levels extend rather than replace: a user adds a rule or a level.
    for section, key in (("classify", "rules"), ("complexity", "hints")):
        extra = (user.get(section) or {}).get(key)
        if extra:
            base_items = (default.get(section) or {}).get(key) or []
            combined = LineList([*extra, *base_items])  # user rules first: they win ties
            combined.line, combined.item_lines = extra.line, [*extra.item_lines, *base_items.item_lines]
            merged[section][key] = combined
    if user.get("escalation") and default.get("escalation"):
        by_threshold = {level["above_tokens"]: level for level in default["escalation"]}
        by_threshold.update({level["above_tokens"]: level for level in user["escalation"]})
        levels = LineList(by_threshold[k] for k in sorted(by_threshold))
        levels.line, levels.item_lines = user["escalation"].line, [lv.line for lv in levels]
        merged["escalation"] = levels
    return merged


