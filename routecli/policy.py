"""The routing policy: routes.yaml files found, merged, checked and turned into typed, frozen objects.

Every mistake is a PolicyError naming the file and line that caused it. Nothing here imports an SDK
or touches the network; prices are attached later by `prices.py`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import PolicyError, UsageError
from .located import LineDict, LineList, decode_hook, encode

TASKS = ("chat", "summarize", "code", "reasoning", "creative", "extract", "safety")
WIRES = ("anthropic", "openai", "mistral")
SPEEDS = ("fast", "standard", "slow")
PREFERENCES = ("cost", "capability")
ON_EXCEED = ("downgrade", "refuse")


# ----------------------------------------------------------------------------- typed policy objects
# eq=False throughout: policy objects are never compared, and every generated method costs start-up time.


@dataclass(frozen=True, eq=False)
class Origin:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, eq=False)
class TimeoutSettings:
    connect: float
    first_token: float
    idle: float


@dataclass(frozen=True, eq=False)
class Provider:
    name: str
    wire: str
    base_url: str
    key_env: str | None
    local: bool
    prices_provider: str | None
    origin: Origin
    discover: bool = False  # list the server's models (GET /v1/models) and route to them; local only
    probe: tuple[str, ...] = ()  # base URLs discovery tries, first answer wins; empty: base_url alone
    transport: str = "raw"  # raw: route reads replies itself; sdk: the provider's SDK does (the reference)

    @property
    def base_url_env(self) -> str:
        """The environment variable that overrides this provider's base URL, e.g. MOONSHOT_BASE_URL."""
        return re.sub(r"[^A-Z0-9]+", "_", self.name.upper()) + "_BASE_URL"


@dataclass(frozen=True, eq=False)
class PriceOverride:
    """Prices per million tokens given in the policy; None fields fall back to genai-prices."""

    input: Decimal | None = None
    output: Decimal | None = None
    cached_input: Decimal | None = None


@dataclass(frozen=True, eq=False)
class Model:
    alias: str
    provider: str
    model_id: str
    context: int
    max_output: int
    speed: str
    tier: int
    strengths: tuple[str, ...]
    price: PriceOverride | None
    price_ref: str | None  # the id to look up in genai-prices when it differs from model_id
    timeouts: TimeoutSettings | None
    origin: Origin


@dataclass(frozen=True, eq=False)
class Task:
    name: str
    candidates: tuple[str, ...]
    fallbacks: tuple[str, ...]
    min_tier: int
    interactive: bool
    validate: bool
    expected_output: int
    origin: Origin


@dataclass(frozen=True, eq=False)
class Rule:
    task: str
    weight: int
    patterns: tuple[re.Pattern[str], ...]
    origin: Origin


@dataclass(frozen=True, eq=False)
class Classification:
    default: str
    long_input_above: int | None
    long_input_task: str | None
    rules: tuple[Rule, ...]


@dataclass(frozen=True, eq=False)
class Hint:
    weight: int
    pattern: re.Pattern[str]


@dataclass(frozen=True, eq=False)
class ComplexitySettings:
    base: int
    long_prompt_above: int | None
    long_prompt_add: int
    hints: tuple[Hint, ...]


@dataclass(frozen=True, eq=False)
class Escalation:
    above_tokens: int
    min_context: int
    min_tier: int | None


@dataclass(frozen=True, eq=False)
class Profile:
    name: str
    max_cost_per_request: Decimal | None
    tier_shift: int
    prefer: str


@dataclass(frozen=True, eq=False)
class Budgets:
    per_request: Decimal | None
    per_day: Decimal | None
    per_month: Decimal | None
    on_exceed: str


@dataclass(frozen=True, eq=False)
class Policy:
    sources: tuple[str, ...]
    default_profile: str
    default_max_output: int
    timeouts: TimeoutSettings
    providers: dict[str, Provider]
    models: dict[str, Model]
    tasks: dict[str, Task]
    classification: Classification
    complexity: ComplexitySettings
    escalation: tuple[Escalation, ...]
    profiles: dict[str, Profile]
    budgets: Budgets
    log_prompts: bool = False
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    discovered: frozenset[str] = frozenset()  # local providers whose server answered discovery (discover.py)
    silent: frozenset[str] = frozenset()  # local providers discovery asked that did not answer

    def model(self, alias: str) -> Model:
        if alias not in self.models:
            known = ", ".join(sorted(self.models))
            raise UsageError(f"unknown model '{alias}' (known: {known})")
        return self.models[alias]

    def profile(self, name: str | None) -> Profile:
        name = name or self.default_profile
        if name not in self.profiles:
            raise UsageError(f"unknown profile '{name}' (known: {', '.join(sorted(self.profiles))})")
        return self.profiles[name]


# ----------------------------------------------------------------------------- finding the files


def default_policy_path() -> Path:
    """routes.yaml ships inside the package (wheel); in a source checkout it sits at the repo root."""
    here = Path(__file__).resolve().parent
    packaged = here / "routes.yaml"
    return packaged if packaged.exists() else here.parent / "routes.yaml"


def user_policy_path(explicit: str | None, config_dir: Path) -> Path | None:
    """--policy, then $ROUTE_POLICY, then ./routes.yaml, then the config dir's routes.yaml."""
    for candidate, must_exist in ((explicit, True), (os.environ.get("ROUTE_POLICY"), True)):
        if candidate:
            path = Path(candidate).expanduser()
            if must_exist and not path.is_file():
                raise PolicyError(str(path), None, "policy file not found")
            return path
    for path in (Path("routes.yaml"), config_dir / "routes.yaml"):
        if path.is_file():
            return path
    return None


# ----------------------------------------------------------------------------- checking raw YAML

# The shape of each section. A type name, or a nested dict for a mapping, or ("map", spec) for a
# name -> entry mapping. "num" is a non-negative number; "int+" a positive integer.
_TIMEOUTS = {"connect": "num", "first_token": "num", "idle": "num"}
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
        },
    ),
    "classify": {
        "default": "str",
        "long_input": {"above_tokens": "int+", "task": "str"},
        "rules": "list[dict]",
    },
    "complexity": {
        "base": "int",
        "long_prompt": {"above_tokens": "int+", "add": "int"},
        "hints": "list[dict]",
    },
    "escalation": "list[dict]",
    "profiles": ("map", {"max_cost_per_request": "num?", "tier_shift": "int", "prefer": "str"}),
    "budgets": {"per_request": "num?", "per_day": "num?", "per_month": "num?", "on_exceed": "str"},
    "map_reduce": {"chunk_tokens": "int+", "partial_tokens": "int+", "concurrency": "int+", "above_tokens": "int+?"},
}
_RULE = {"task": "str", "weight": "int", "patterns": "list[str]"}
_HINT = {"weight": "int", "pattern": "str"}
_LEVEL = {"above_tokens": "int+", "min_context": "int+", "min_tier": "int+"}


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
    if kind == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "list[dict]":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if kind == "list[target]":
        return isinstance(value, list) and all(_probe_url(v) is not None for v in value)
    raise AssertionError(kind)


_DESCRIBE = {
    "str": "a non-empty string",
    "bool": "true or false",
    "int": "an integer",
    "int+": "a positive integer",
    "num": "a number >= 0",
    "list[str]": "a list of strings",
    "list[dict]": "a list of mappings",
    "list[target]": "a list of loopback ports (e.g. 11434) or http:// URLs",
}


def _probe_url(target: Any) -> str | None:
    """A probe target as a base URL: a port means that port on 127.0.0.1 with the usual /v1 prefix."""
    if isinstance(target, int) and not isinstance(target, bool):
        return f"http://127.0.0.1:{target}/v1" if 0 < target < 65536 else None
    if isinstance(target, str) and re.match(r"https?://[^/\s]+", target):
        url = target.rstrip("/")
        return url if re.match(r"https?://[^/]+/", url) else url + "/v1"
    return None


def _check(mapping: Any, spec: dict[str, Any], path: str, where: str, line: int) -> None:
    if not isinstance(mapping, dict):
        raise PolicyError(path, line, f"{where} must be a mapping")
    for key, value in mapping.items():
        key_line = mapping.line_of(key) if isinstance(mapping, LineDict) else line
        label = f"{where}.{key}" if where else key
        if key not in spec:
            allowed = ", ".join(spec)
            raise PolicyError(path, key_line, f"unknown key '{label}' (allowed: {allowed})")
        kind = spec[key]
        if isinstance(kind, dict):
            _check(value, kind, path, label, key_line)
        elif isinstance(kind, tuple):
            if not isinstance(value, dict):
                raise PolicyError(path, key_line, f"{label} must be a mapping of names to entries")
            for name, entry in value.items():
                _check(entry, kind[1], path, f"{label}.{name}", value.line_of(name))
        elif not _type_ok(kind, value):
            if kind == "num" and isinstance(value, (int, float)) and value < 0:
                raise PolicyError(path, key_line, f"{label} must not be negative (got {value})")
            raise PolicyError(path, key_line, f"{label} must be {_DESCRIBE[kind.rstrip('?')]}")


def _check_list_items(raw: dict[str, Any], path: str) -> None:
    for section, key, spec in (("classify", "rules", _RULE), ("complexity", "hints", _HINT)):
        items = (raw.get(section) or {}).get(key) or []
        for index, item in enumerate(items):
            _check(item, spec, path, f"{section}.{key}[{index}]", items.line_of(index))
    levels = raw.get("escalation") or []
    for index, item in enumerate(levels):
        _check(item, _LEVEL, path, f"escalation[{index}]", levels.line_of(index))


def _read(path: Path) -> LineDict:
    from .yamlfile import load_yaml  # PyYAML costs ~10 ms: only when the cache cannot serve

    raw = load_yaml(path)
    if raw is None:
        raw = LineDict()
        raw.line, raw.key_lines = 1, {}
    if not isinstance(raw, LineDict):
        raise PolicyError(str(path), 1, "a policy file must be a mapping at the top level")
    _check(raw, _SCHEMA, str(path), "", 1)
    _check_list_items(raw, str(path))
    _tag_origin(raw, str(path))
    return raw


# ----------------------------------------------------------------------------- merging


def _tag_origin(value: Any, path: str) -> None:
    """Remember the file of every mapping and list, so merged entries still know where they came from."""
    if isinstance(value, (LineDict, LineList)):
        value.source = path  # type: ignore[attr-defined]
        for child in value.values() if isinstance(value, dict) else value:
            _tag_origin(child, path)


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


def _merge_policies(default: LineDict, user: LineDict) -> LineDict:
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


# ----------------------------------------------------------------------------- building typed objects


def _origin(mapping: LineDict, key: str | None = None) -> Origin:
    if key is None:
        return Origin(getattr(mapping, "source", "?"), mapping.line)
    sources = getattr(mapping, "key_sources", {})
    return Origin(sources.get(key, getattr(mapping, "source", "?")), mapping.line_of(key))


def _fail(mapping: LineDict, key: str | None, message: str) -> PolicyError:
    origin = _origin(mapping, key)
    return PolicyError(origin.path, origin.line, message)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _timeouts(raw: Any, fallback: TimeoutSettings) -> TimeoutSettings:
    if not raw:
        return fallback
    return TimeoutSettings(
        float(raw.get("connect", fallback.connect)),
        float(raw.get("first_token", fallback.first_token)),
        float(raw.get("idle", fallback.idle)),
    )


def _providers(raw: LineDict) -> dict[str, Provider]:
    result: dict[str, Provider] = {}
    for name, entry in raw.items():
        for required in ("wire", "base_url"):
            if required not in entry:
                raise _fail(entry, None, f"provider '{name}' needs '{required}'")
        if entry["wire"] not in WIRES:
            raise _fail(entry, "wire", f"provider '{name}': wire must be one of {', '.join(WIRES)}")
        local = bool(entry.get("local", False))
        if not local and not entry.get("key_env"):
            raise _fail(entry, None, f"provider '{name}' needs 'key_env' (or 'local: true')")
        transport = entry.get("transport", "raw")
        if transport not in ("raw", "sdk"):
            raise _fail(entry, "transport", f"provider '{name}': transport must be raw or sdk")
        discover = bool(entry.get("discover", False))
        if discover and not local:  # discovered models are priced at zero and enabled by answering
            raise _fail(entry, "discover", f"provider '{name}': discover needs 'local: true'")
        result[name] = Provider(
            name=name,
            wire=entry["wire"],
            base_url=entry["base_url"],
            key_env=entry.get("key_env"),
            local=local,
            prices_provider=entry.get("prices_provider"),
            origin=_origin(entry),
            discover=discover,
            probe=tuple(url for url in map(_probe_url, entry.get("probe") or []) if url),
            transport=transport,
        )
    return result


def _models(raw: LineDict, providers: dict[str, Provider], timeouts: TimeoutSettings) -> dict[str, Model]:
    result: dict[str, Model] = {}
    for alias, entry in raw.items():
        for required in ("provider", "id", "context", "max_output", "tier"):
            if required not in entry:
                raise _fail(entry, None, f"model '{alias}' needs '{required}'")
        if entry["provider"] not in providers:
            known = ", ".join(sorted(providers))
            raise _fail(
                entry, "provider", f"model '{alias}' names unknown provider '{entry['provider']}' (known: {known})"
            )
        speed = entry.get("speed", "standard")
        if speed not in SPEEDS:
            raise _fail(entry, "speed", f"model '{alias}': speed must be one of {', '.join(SPEEDS)}")
        for strength in entry.get("strengths", []):
            if strength not in TASKS:
                raise _fail(entry, "strengths", f"model '{alias}': unknown task '{strength}' in strengths")
        if entry["max_output"] >= entry["context"]:
            raise _fail(entry, "max_output", f"model '{alias}': max_output must be smaller than context")
        price = entry.get("price")
        result[alias] = Model(
            alias=alias,
            provider=entry["provider"],
            model_id=str(entry["id"]),
            context=entry["context"],
            max_output=entry["max_output"],
            speed=speed,
            tier=entry["tier"],
            strengths=tuple(entry.get("strengths", ())),
            price=None
            if price is None
            else PriceOverride(_dec(price.get("input")), _dec(price.get("output")), _dec(price.get("cached_input"))),
            price_ref=entry.get("price_ref"),
            timeouts=_timeouts(entry.get("timeouts"), timeouts) if entry.get("timeouts") else None,
            origin=_origin(entry),
        )
    return result


def _tasks(raw: LineDict, models: dict[str, Model]) -> dict[str, Task]:
    result: dict[str, Task] = {}
    for name, entry in raw.items():
        if name not in TASKS:
            raise _fail(raw, name, f"unknown task '{name}' (tasks are: {', '.join(TASKS)})")
        for key in ("candidates", "fallbacks"):
            for alias in entry.get(key, []):
                if alias not in models:
                    raise _fail(entry, key, f"task '{name}' names unknown model '{alias}' in {key}")
        candidates = tuple(entry.get("candidates") or [m.alias for m in models.values() if name in m.strengths])
        if not candidates:
            raise _fail(entry, None, f"task '{name}' has no candidates and no model lists it in strengths")
        result[name] = Task(
            name=name,
            candidates=candidates,
            fallbacks=tuple(entry.get("fallbacks", ())),
            min_tier=entry.get("min_tier", 1),
            interactive=bool(entry.get("interactive", False)),
            validate=bool(entry.get("validate", False)),
            expected_output=entry.get("expected_output", 500),
            origin=_origin(entry),
        )
    for name in TASKS:  # every task can be routed, even if a user policy forgot one
        if name not in result:
            candidates = tuple(m.alias for m in models.values() if name in m.strengths)
            if candidates:
                result[name] = Task(name, candidates, (), 1, False, False, 500, Origin("(implied)", 0))
    return result


def _regex(pattern: str, mapping: Any, key: str | int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        line = mapping.line_of(key) if isinstance(mapping, (LineDict, LineList)) else None
        path = getattr(mapping, "source", "?")
        raise PolicyError(path, line, f"invalid regular expression {pattern!r}: {exc}") from None


def _classification(raw: LineDict) -> Classification:
    default = raw.get("default", "chat")
    if default not in TASKS:
        raise _fail(raw, "default", f"classify.default: unknown task '{default}'")
    rules = []
    items = raw.get("rules") or LineList()
    for index, item in enumerate(items):
        if item["task"] not in TASKS:
            raise _fail(item, "task", f"classify rule names unknown task '{item['task']}'")
        patterns = tuple(_regex(p, item["patterns"], i) for i, p in enumerate(item.get("patterns", [])))
        origin = Origin(getattr(item, "source", getattr(items, "source", "?")), items.line_of(index))
        rules.append(Rule(item["task"], item.get("weight", 1), patterns, origin))
    long_input = raw.get("long_input") or {}
    if long_input and long_input.get("task") not in TASKS:
        raise _fail(long_input, "task", f"classify.long_input: unknown task '{long_input.get('task')}'")
    return Classification(default, long_input.get("above_tokens"), long_input.get("task"), tuple(rules))


def _complexity(raw: LineDict) -> ComplexitySettings:
    hints = raw.get("hints") or LineList()
    long_prompt = raw.get("long_prompt") or {}
    return ComplexitySettings(
        base=raw.get("base", 4),
        long_prompt_above=long_prompt.get("above_tokens"),
        long_prompt_add=long_prompt.get("add", 0),
        hints=tuple(Hint(h.get("weight", 1), _regex(h["pattern"], h, "pattern")) for h in hints),
    )


def _profiles(raw: LineDict) -> dict[str, Profile]:
    result = {}
    for name, entry in raw.items():
        prefer = entry.get("prefer", "cost")
        if prefer not in PREFERENCES:
            raise _fail(entry, "prefer", f"profile '{name}': prefer must be one of {', '.join(PREFERENCES)}")
        result[name] = Profile(name, _dec(entry.get("max_cost_per_request")), entry.get("tier_shift", 0), prefer)
    return result


def _budgets(raw: LineDict) -> Budgets:
    on_exceed = raw.get("on_exceed", "downgrade")
    if on_exceed not in ON_EXCEED:
        raise _fail(raw, "on_exceed", f"budgets.on_exceed must be one of {', '.join(ON_EXCEED)}")
    return Budgets(_dec(raw.get("per_request")), _dec(raw.get("per_day")), _dec(raw.get("per_month")), on_exceed)


def build_policy(raw: LineDict, sources: tuple[str, ...]) -> Policy:
    empty = LineDict()
    empty.line, empty.key_lines = 1, {}
    defaults = raw.get("defaults") or empty
    timeouts = _timeouts(defaults.get("timeouts"), TimeoutSettings(10.0, 60.0, 30.0))
    providers = _providers(raw.get("providers") or empty)
    models = _models(raw.get("models") or empty, providers, timeouts)
    if not models:
        raise PolicyError(sources[-1], 1, "the policy defines no models")
    tasks = _tasks(raw.get("tasks") or empty, models)
    classification = _classification(raw.get("classify") or empty)
    if classification.default not in tasks:
        raise _fail(
            raw.get("classify") or raw, "default", f"classify.default task '{classification.default}' has no models"
        )
    profiles = _profiles(raw.get("profiles") or empty) or {"balanced": Profile("balanced", None, 0, "cost")}
    default_profile = defaults.get("profile", next(iter(profiles)))
    if default_profile not in profiles:
        raise _fail(defaults, "profile", f"defaults.profile names unknown profile '{default_profile}'")
    levels = tuple(
        Escalation(lv["above_tokens"], lv.get("min_context", 0), lv.get("min_tier"))
        for lv in sorted(raw.get("escalation") or [], key=lambda lv: lv["above_tokens"])
    )
    return Policy(
        sources=sources,
        default_profile=default_profile,
        default_max_output=defaults.get("max_output_tokens", 4096),
        timeouts=timeouts,
        providers=providers,
        models=models,
        tasks=tasks,
        classification=classification,
        complexity=_complexity(raw.get("complexity") or empty),
        escalation=levels,
        profiles=profiles,
        budgets=_budgets(raw.get("budgets") or empty),
        log_prompts=bool(defaults.get("log_prompts", False)),
        raw=raw,
    )


def load_policy(explicit: str | None, config_dir: Path, cache_dir: Path | None = None) -> Policy:
    """The default policy, with the user's policy (if any) merged over it.

    The merged, validated YAML is cached as JSON keyed by each file's path, size and mtime, so most
    runs skip PyYAML and the checks; any change to a file, or a new route version, rebuilds it.
    """
    default_path = default_policy_path()
    user_path = user_policy_path(explicit, config_dir)
    paths = [default_path]
    if user_path is not None and not _same_file(user_path, default_path):
        paths.append(user_path)
    sources = tuple(str(p) for p in paths)
    key = _cache_key(paths)
    cache_file = cache_dir / "policy.json" if cache_dir else None
    raw = _load_cached(cache_file, key) if cache_file and key else None
    if raw is not None:
        return build_policy(raw, sources)
    raw = _read(default_path)
    if len(paths) > 1:
        raw = _merge_policies(raw, _read(paths[1]))
    policy = build_policy(raw, sources)  # validates: only a good policy is ever cached
    if cache_file and key:
        _save_cached(cache_file, key, raw)
    return policy


def _cache_key(paths: list[Path]) -> str | None:
    from . import __version__

    try:
        stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    except OSError:
        return None
    return json.dumps([__version__, stats])


def _load_cached(cache_file: Path, key: str) -> LineDict | None:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"), object_hook=decode_hook)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("raw"), LineDict):
        return None
    return data["raw"]


def _save_cached(cache_file: Path, key: str, raw: LineDict) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "raw": encode(raw)}), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a cache we cannot write only costs time


def validate_file(path: Path) -> Policy:
    """Check one file on its own terms, merged over the default as it would be in use."""
    default_path = default_policy_path()
    raw = _read(default_path)
    if _same_file(path, default_path):
        return build_policy(raw, (str(default_path),))
    return build_policy(_merge_policies(raw, _read(path)), (str(default_path), str(path)))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False
