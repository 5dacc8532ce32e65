"""The shape every routes.yaml section must have, checked on the raw YAML so that a mistake names its file:line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from routecli.errors import PolicyError
from routecli.policy.located import LineDict
from routecli.policy.merge import tag_origin
from routecli.policy.named import name_entries
from routecli.policy.problems import Problems
from routecli.policy.types import MAX_TIER, MIN_CHUNK_TOKENS

# The shape of each section. A type name, or a nested dict for a mapping, or ("map", spec) for a
# name -> entry mapping. "num" is a non-negative number; "int+" a positive integer; "secs" a timeout.
_TIMEOUTS = {"connect": "secs", "headers": "secs", "first_token": "secs", "idle": "secs"}
# A timeout of 0 fails every call ("no response within 0s") and cools every provider down; more than an hour
# is a typo for a number of milliseconds, or a hang route would never notice.
MAX_TIMEOUT_S = 3600
_SCHEMA: dict[str, Any] = {
    "version": "int+",
    "defaults": {"profile": "str", "max_output_tokens": "int+", "timeouts": _TIMEOUTS, "log_prompts": "bool"},
    "providers": (
        "map",
        {
            "wire": "str",
            "base_url": "str",
            "key_env": "str?",
            "local": "bool",
            "prices_provider": "str?",
            "discover": "bool",
            "probe": "list[target]",
            "transport": "str",
        },
    ),
    "models": (
        "map",
        {
            "provider": "str",
            "id": "str",
            "context": "int+",
            "max_output": "int+",
            "speed": "str",
            "tier": "int+",
            "strengths": "list[str]",
            "price": {"input": "num", "output": "num", "cached_input": "num"},
            "price_ref": "str?",
            "timeouts": _TIMEOUTS,
        },
    ),
    "tasks": (
        "map",
        {
            "candidates": "list[str]",
            "fallbacks": "list[str]",
            "min_tier": "int+",
            "interactive": "bool",
            "validate": "bool",
            "expected_output": "int+",
            "review": {"model": "names", "on_concerns": "str", "escalate_to": "str", "max_output": "int+"},
        },
    ),
    "classify": {
        "default": "str",
        "long_input": {"above_tokens": "int+", "task": "str"},
        "rules": "list[dict]",
        "model": "str",
        "below": "num",
    },
    "complexity": {
        "base": "int",
        "long_prompt": {"above_tokens": "int+", "add": "int"},
        "hints": "list[dict]",
    },
    "escalation": "list[dict]",
    "profiles": ("map", {"max_cost_per_request": "num?", "tier_shift": "int", "prefer": "str"}),
    "budgets": {
        "per_request": "num?",
        "per_day": "num?",
        "per_month": "num?",
        "on_exceed": "str",
        "per_user_day": "num?",  # each user's share, with a ledger a team shares (issue 14)
        "per_user_month": "num?",
    },
    "map_reduce": {"chunk_tokens": "chunk", "partial_tokens": "int+", "concurrency": "int+", "above_tokens": "int+?"},
    "privacy": {"local_only": "list[str]"},
    "ledger": {"url": "str"},  # a PostgreSQL ledger a team shares; never with a password (issue 14)
}
# List entries: a name (a default entry's name replaces it), `enabled: false` removes one (see named.py).
_RULE = {"name": "str", "enabled": "bool", "task": "str", "weight": "int", "patterns": "list[str]"}
_HINT = {"name": "str", "enabled": "bool", "weight": "int", "pattern": "str"}
_LEVEL = {"above_tokens": "int+", "enabled": "bool", "min_context": "int+", "min_tier": "int+"}


def _type_ok(kind: str, value: Any) -> bool:
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        return optional
    if kind == "str":
        return isinstance(value, str) and value != ""
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int", "int+"):
        return isinstance(value, int) and not isinstance(value, bool) and (kind == "int" or value > 0)
    if kind == "chunk":  # map-reduce never cuts an input finer than this: a smaller setting could only fail later
        return isinstance(value, int) and not isinstance(value, bool) and value >= MIN_CHUNK_TOKENS
    if kind == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    if kind == "secs":  # NaN and infinity fail the comparison too
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT_S
    if kind == "names":  # one alias or a list of them
        return (isinstance(value, str) and value != "") or (
            isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        )
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "list[dict]":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if kind == "list[target]":
        return isinstance(value, list) and all(probe_url(v) is not None for v in value)
    raise AssertionError(kind)


_DESCRIBE = {
    "str": "a non-empty string",
    "bool": "true or false",
    "int": "an integer",
    "int+": "a positive integer",
    "chunk": f"a number of tokens of at least {MIN_CHUNK_TOKENS:,}",
    "num": "a number >= 0",
    "secs": f"a number of seconds above 0 and at most {MAX_TIMEOUT_S}",
    "list[str]": "a list of strings",
    "names": "a model alias or a list of them",
    "list[dict]": "a list of mappings",
    "list[target]": "a list of loopback ports (e.g. 11434) or http:// URLs",
}


def probe_url(target: Any) -> str | None:
    """A probe target as a base URL: a port means that port on 127.0.0.1 with the usual /v1 prefix."""
    if isinstance(target, int) and not isinstance(target, bool):
        return f"http://127.0.0.1:{target}/v1" if 0 < target < 65536 else None
    if isinstance(target, str) and re.match(r"https?://[^/\s]+", target):
        url = target.rstrip("/")
        return url if re.match(r"https?://[^/]+/", url) else url + "/v1"
    return None


def invalid_keys(mapping: Any) -> set[str]:
    """Keys this mapping had whose values were refused (and taken out): a "needs" check must not report them again."""
    return getattr(mapping, "invalid_keys", set())


def _drop(mapping: LineDict, key: str) -> None:
    """Take a refused value out, so later checks run on what is left instead of tripping over it."""
    del mapping[key]
    mapping.invalid_keys = invalid_keys(mapping) | {key}  # type: ignore[attr-defined]


def _check(mapping: Any, spec: dict[str, Any], path: str, where: str, line: int, problems: Problems) -> bool:
    """Report every key of `mapping` that `spec` does not allow, taking it out; False if it is no mapping at all."""
    if not isinstance(mapping, dict):
        problems.report(path, line, f"{where} must be a mapping")
        return False
    for key, value in list(mapping.items()):
        key_line = mapping.line_of(key) if isinstance(mapping, LineDict) else line
        label = f"{where}.{key}" if where else key
        if key not in spec:
            allowed = ", ".join(spec)
            problems.report(path, key_line, f"unknown key '{label}' (allowed: {allowed})")
            _drop(mapping, key)
            continue
        kind = spec[key]
        if isinstance(kind, dict):
            if not _check(value, kind, path, label, key_line, problems):
                _drop(mapping, key)
        elif isinstance(kind, tuple):
            if not isinstance(value, dict):
                problems.report(path, key_line, f"{label} must be a mapping of names to entries")
                _drop(mapping, key)
                continue
            for name, entry in list(value.items()):
                if not _check(entry, kind[1], path, f"{label}.{name}", value.line_of(name), problems):
                    _drop(value, name)
        elif not _type_ok(kind, value):
            if kind == "num" and isinstance(value, (int, float)) and value < 0:
                problems.report(path, key_line, f"{label} must not be negative (got {value})")
            elif kind == "secs" and isinstance(value, (int, float)) and not isinstance(value, bool):
                problems.report(path, key_line, f"{label} must be {_DESCRIBE[kind]} (got {value})")
            else:
                problems.report(path, key_line, f"{label} must be {_DESCRIBE[kind.rstrip('?')]}")
            _drop(mapping, key)
    return True


def _check_list_items(raw: dict[str, Any], path: str, problems: Problems) -> None:
    for section, key, spec in (("classify", "rules", _RULE), ("complexity", "hints", _HINT)):
        items = (raw.get(section) or {}).get(key) or []
        for index, item in enumerate(items):
            _check(item, spec, path, f"{section}.{key}[{index}]", items.line_of(index), problems)
        name_entries(items, section, path, problems)
    levels = raw.get("escalation") or []
    for index, item in enumerate(levels):
        _check(item, _LEVEL, path, f"escalation[{index}]", levels.line_of(index), problems)


POLICY_VERSION = 1  # the only format there is; a newer one is refused rather than half understood


def _check_ranges(raw: LineDict, path: str, problems: Problems) -> None:
    """Values the shape allows but route would misread: a format from the future, a tier off the scale."""
    if raw.get("version", POLICY_VERSION) != POLICY_VERSION and isinstance(raw.get("version"), int):
        problems.report(path, raw.line_of("version"), f"version {raw['version']} is not known (this route reads "
                        f"version {POLICY_VERSION}): upgrade route, or write the policy for version {POLICY_VERSION}")
    for alias, entry in (raw.get("models") or {}).items():
        tier = entry.get("tier") if isinstance(entry, LineDict) else None
        if isinstance(tier, int) and not 1 <= tier <= MAX_TIER:
            problems.report(path, entry.line_of("tier"), f"model '{alias}': tier must be 1 to {MAX_TIER} (got {tier})")


def read_policy_file(path: Path, problems: Problems | None = None) -> LineDict:
    """One file, parsed and checked against the schema. Mistakes go to `problems` (the caller reports them with
    the rest) or, without it, are raised here; a YAML syntax error is raised at once: nothing after it can be read."""
    from routecli.policy.yamlfile import load_yaml  # PyYAML costs ~10 ms: only when the cache cannot serve

    own = problems is None
    problems = Problems() if problems is None else problems

    raw, duplicates = load_yaml(path)
    for duplicate in duplicates:
        problems.add(duplicate)
    if raw is None:
        raw = LineDict()
        raw.line, raw.key_lines = 1, {}
    if not isinstance(raw, LineDict):
        raise PolicyError(str(path), 1, "a policy file must be a mapping at the top level")
    _check(raw, _SCHEMA, str(path), "", 1, problems)
    _check_list_items(raw, str(path), problems)
    _check_ranges(raw, str(path), problems)
    tag_origin(raw, str(path))
    if own:
        problems.raise_if_any()
    return raw


