"""Building typed, frozen policy objects from the merged, checked YAML. Every mistake is reported at its file:line."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from routecli.errors import PolicyError
from routecli.policy.located import LineDict, LineList
from routecli.policy.named import enabled
from routecli.policy.problems import Problems
from routecli.policy.regex_cache import RegexCache
from routecli.policy.schema import invalid_keys, probe_url
from routecli.policy.types import (
    ON_CONCERNS,
    ON_EXCEED,
    PREFERENCES,
    SPEEDS,
    TASKS,
    Budgets,
    Classification,
    ComplexitySettings,
    Escalation,
    Hint,
    MapReduceSettings,
    Model,
    ModelClassifier,
    Origin,
    Policy,
    PriceOverride,
    Privacy,
    Profile,
    Provider,
    ReviewSettings,
    Rule,
    Task,
    TimeoutSettings,
)
from routecli.providers import WIRES


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
        float(raw.get("headers", fallback.headers)),
    )


# An environment variable name as shells write them; anything else in key_env is refused, never echoed back:
# a value pasted there by mistake is usually the key itself.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


def _key_env_problem(value: str) -> str:
    """Why a key_env value is refused, in words that repeat no part of it."""
    looks_like_key = (
        "-" in value
        or len(value) > 40
        or re.match(r"(?:sk|pk|rk|gsk|xai|hf|ghp|AIza)[-_]", value) is not None
        or (any(c.isdigit() for c in value) and any(c.islower() for c in value))
    )
    if looks_like_key:
        return (
            "key_env looks like an API key, not a variable name; "
            "put the key in the environment and name the variable here"
        )
    return "key_env must name an environment variable (capital letters, digits and _, e.g. ANTHROPIC_API_KEY)"


def _missing(entry: LineDict, required: tuple[str, ...]) -> list[str]:
    """Required fields absent from `entry` (a field whose value was refused is reported already, not again)."""
    return [key for key in required if key not in entry and key not in invalid_keys(entry)]


def _needs(entry: LineDict, what: str, missing: list[str], problems: Problems) -> None:
    problems.add(_fail(entry, None, f"{what} needs " + ", ".join(f"'{key}'" for key in missing)))


def _providers(raw: LineDict, problems: Problems) -> dict[str, Provider]:
    result: dict[str, Provider] = {}
    for name, entry in raw.items():
        before = len(problems.found)
        missing = _missing(entry, ("wire", "base_url"))
        if missing:
            _needs(entry, f"provider '{name}'", missing, problems)
        if "wire" in entry and entry["wire"] not in WIRES:
            problems.add(_fail(entry, "wire", f"provider '{name}': wire must be one of {', '.join(WIRES)}"))
        local = bool(entry.get("local", False))
        if not local and not entry.get("key_env") and "key_env" not in invalid_keys(entry):
            problems.add(_fail(entry, None, f"provider '{name}' needs 'key_env' (or 'local: true')"))
        if entry.get("key_env") is not None and not _ENV_NAME.fullmatch(entry["key_env"]):
            problems.add(_fail(entry, "key_env", f"provider '{name}': {_key_env_problem(entry['key_env'])}"))
        transport = entry.get("transport", "raw")
        if transport not in ("raw", "sdk"):
            problems.add(_fail(entry, "transport", f"provider '{name}': transport must be raw or sdk"))
        discover = bool(entry.get("discover", False))
        if discover and not local:  # discovered models are priced at zero and enabled by answering
            problems.add(_fail(entry, "discover", f"provider '{name}': discover needs 'local: true'"))
        if len(problems.found) > before or missing:
            continue
        result[name] = Provider(
            name=name,
            wire=entry["wire"],
            base_url=entry["base_url"],
            key_env=entry.get("key_env"),
            local=local,
            prices_provider=entry.get("prices_provider"),
            origin=_origin(entry),
            discover=discover,
            probe=tuple(url for url in map(probe_url, entry.get("probe") or []) if url),
            transport=transport,
        )
    return result


def _models(
    raw: LineDict, providers: set[str], timeouts: TimeoutSettings, problems: Problems
) -> dict[str, Model]:
    result: dict[str, Model] = {}
    for alias, entry in raw.items():
        before = len(problems.found)
        missing = _missing(entry, ("provider", "id", "context", "max_output", "tier"))
        if missing:
            _needs(entry, f"model '{alias}'", missing, problems)
        if "provider" in entry and entry["provider"] not in providers:
            known = ", ".join(sorted(providers))
            message = f"model '{alias}' names unknown provider '{entry['provider']}' (known: {known})"
            problems.add(_fail(entry, "provider", message))
        speed = entry.get("speed", "standard")
        if speed not in SPEEDS:
            problems.add(_fail(entry, "speed", f"model '{alias}': speed must be one of {', '.join(SPEEDS)}"))
        for strength in entry.get("strengths", []):
            if strength not in TASKS:
                problems.add(_fail(entry, "strengths", f"model '{alias}': unknown task '{strength}' in strengths"))
        if entry.get("max_output", 0) >= entry.get("context", float("inf")):
            problems.add(_fail(entry, "max_output", f"model '{alias}': max_output must be smaller than context"))
        if len(problems.found) > before or not set(entry) >= {"provider", "id", "context", "max_output", "tier"}:
            continue
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


def _tasks(raw: LineDict, models: dict[str, Model], declared: set[str], problems: Problems) -> dict[str, Task]:
    """`declared`: every model alias the policy names, the broken ones too (reported already, not again here)."""
    result: dict[str, Task] = {}
    for name, entry in raw.items():
        if name not in TASKS:
            problems.add(_fail(raw, name, f"unknown task '{name}' (tasks are: {', '.join(TASKS)})"))
            continue
        for key in ("candidates", "fallbacks"):
            for alias in entry.get(key, []):
                if alias not in declared:
                    problems.add(_fail(entry, key, f"task '{name}' names unknown model '{alias}' in {key}"))
        usable = [alias for alias in entry.get("candidates") or [] if alias in models]
        candidates = tuple(usable or [m.alias for m in models.values() if name in m.strengths])
        if not candidates:
            if models and not entry.get("candidates"):
                message = f"task '{name}' has no candidates and no model lists it in strengths"
                problems.add(_fail(entry, None, message))
            continue
        result[name] = Task(
            name=name,
            candidates=candidates,
            fallbacks=tuple(alias for alias in entry.get("fallbacks", ()) if alias in models),
            min_tier=entry.get("min_tier", 1),
            interactive=bool(entry.get("interactive", False)),
            validate=bool(entry.get("validate", False)),
            expected_output=entry.get("expected_output", 500),
            origin=_origin(entry),
            review=_review(name, entry, models, problems),
        )
    for name in TASKS:  # every task can be routed, even if a user policy forgot one
        if name not in result:
            candidates = tuple(m.alias for m in models.values() if name in m.strengths)
            if candidates:
                result[name] = Task(name, candidates, (), 1, False, False, 500, Origin("(implied)", 0))
    return result


def _review(task: str, entry: LineDict, models: dict[str, Model], problems: Problems) -> ReviewSettings | None:
    raw = entry.get("review")
    if not raw:
        return None
    before = len(problems.found)
    if not entry.get("validate", False):  # the reply must be held back until the reviewer has seen it
        problems.add(_fail(entry, "review", f"task '{task}': review needs 'validate: true'"))
    named = raw.get("model")
    aliases = tuple([named] if isinstance(named, str) else named or [])
    if not aliases:
        problems.add(_fail(raw, None, f"task '{task}': review needs 'model' (an alias or a list of them)"))
    for alias in (*aliases, raw.get("escalate_to")):
        if alias is not None and alias not in models:
            problems.add(_fail(raw, "model", f"task '{task}': review names unknown model '{alias}'"))
    on_concerns = raw.get("on_concerns", "warn")
    if on_concerns not in ON_CONCERNS:
        message = f"task '{task}': review.on_concerns must be one of {', '.join(ON_CONCERNS)}"
        problems.add(_fail(raw, "on_concerns", message))
    if on_concerns == "escalate" and not raw.get("escalate_to"):
        problems.add(_fail(raw, "on_concerns", f"task '{task}': review.on_concerns: escalate needs 'escalate_to'"))
    if len(problems.found) > before:
        return None
    return ReviewSettings(aliases, on_concerns, raw.get("escalate_to"), raw.get("max_output", 400))


def _model_classifier(raw: LineDict, models: dict[str, Model], problems: Problems) -> ModelClassifier | None:
    alias = raw.get("model")
    if alias is None:
        return None
    if alias not in models:
        problems.add(_fail(raw, "model", f"classify.model names unknown model '{alias}'"))
        return None
    below = raw.get("below", 0.6)
    if not 0 < below <= 1:
        problems.add(_fail(raw, "below", f"classify.below must be a confidence between 0 and 1 (got {below})"))
        return None
    return ModelClassifier(alias, float(below))


def _regex(pattern: str, where: Any, key: str | int, problems: Problems, regexes: RegexCache) -> re.Pattern[str] | None:
    try:
        return regexes.compile(pattern, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        line = where.line_of(key) if isinstance(where, (LineDict, LineList)) else None
        path = getattr(where, "source", "?")
        problems.report(path, line, f"invalid regular expression {pattern!r}: {exc}")
        return None


def _classification(raw: LineDict, problems: Problems, regexes: RegexCache) -> Classification:
    default = raw.get("default", "chat")
    if default not in TASKS:
        problems.add(_fail(raw, "default", f"classify.default: unknown task '{default}'"))
    rules = []
    for item in raw.get("rules") or ():
        if not enabled(item):
            continue  # a switched-off entry in a file read on its own (merging takes them out)
        missing = _missing(item, ("task", "patterns"))
        if missing:
            _needs(item, f"classify rule '{item.get('name')}'", missing, problems)
        if "task" in item and item["task"] not in TASKS:
            problems.add(_fail(item, "task", f"classify rule names unknown task '{item['task']}'"))
        compiled = [_regex(p, item["patterns"], i, problems, regexes) for i, p in enumerate(item.get("patterns", []))]
        patterns = tuple(p for p in compiled if p is not None)
        origin = Origin(getattr(item, "source", "?"), item.line)
        rules.append(Rule(item.get("task", default), item.get("weight", 1), patterns, origin, item.get("name", "")))
    long_input = raw.get("long_input") or {}
    if long_input and long_input.get("task") not in TASKS:
        problems.add(_fail(long_input, "task", f"classify.long_input: unknown task '{long_input.get('task')}'"))
    return Classification(default, long_input.get("above_tokens"), long_input.get("task"), tuple(rules))


def _complexity(raw: LineDict, problems: Problems, regexes: RegexCache) -> ComplexitySettings:
    hints = []
    for item in raw.get("hints") or ():
        if not enabled(item):
            continue
        if _missing(item, ("pattern",)):
            _needs(item, f"complexity hint '{item.get('name')}'", ["pattern"], problems)
        pattern = _regex(item["pattern"], item, "pattern", problems, regexes) if "pattern" in item else None
        if pattern is not None:
            hints.append(Hint(item.get("weight", 1), pattern, item.get("name", "")))
    long_prompt = raw.get("long_prompt") or {}
    return ComplexitySettings(
        base=raw.get("base", 4),
        long_prompt_above=long_prompt.get("above_tokens"),
        long_prompt_add=long_prompt.get("add", 0),
        hints=tuple(hints),
    )


def _profiles(raw: LineDict, problems: Problems) -> dict[str, Profile]:
    result = {}
    for name, entry in raw.items():
        prefer = entry.get("prefer", "cost")
        if prefer not in PREFERENCES:
            problems.add(_fail(entry, "prefer", f"profile '{name}': prefer must be one of {', '.join(PREFERENCES)}"))
        result[name] = Profile(name, _dec(entry.get("max_cost_per_request")), entry.get("tier_shift", 0), prefer)
    return result


def _levels(raw: LineList, problems: Problems) -> tuple[Escalation, ...]:
    levels = []
    for index, level in enumerate(raw):
        if "above_tokens" not in level:
            if "above_tokens" not in invalid_keys(level):
                where = getattr(level, "source", "?")
                problems.report(where, raw.line_of(index), "escalation level needs 'above_tokens'")
        elif enabled(level):
            levels.append(Escalation(level["above_tokens"], level.get("min_context", 0), level.get("min_tier")))
    return tuple(sorted(levels, key=lambda lv: lv.above_tokens))


def _budgets(raw: LineDict, problems: Problems) -> Budgets:
    on_exceed = raw.get("on_exceed", "downgrade")
    if on_exceed not in ON_EXCEED:
        problems.add(_fail(raw, "on_exceed", f"budgets.on_exceed must be one of {', '.join(ON_EXCEED)}"))
    return Budgets(
        _dec(raw.get("per_request")),
        _dec(raw.get("per_day")),
        _dec(raw.get("per_month")),
        on_exceed,
        per_user_day=_dec(raw.get("per_user_day")),
        per_user_month=_dec(raw.get("per_user_month")),
    )


def _map_reduce(raw: LineDict) -> MapReduceSettings:
    defaults = MapReduceSettings()
    return MapReduceSettings(
        chunk_tokens=raw.get("chunk_tokens", defaults.chunk_tokens),
        partial_tokens=raw.get("partial_tokens", defaults.partial_tokens),
        concurrency=raw.get("concurrency", defaults.concurrency),
        above_tokens=raw.get("above_tokens", defaults.above_tokens),
    )


def build_policy(
    raw: LineDict, sources: tuple[str, ...], problems: Problems | None = None, regexes: RegexCache | None = None
) -> Policy:
    """The typed policy; every mistake (with those in `problems`) is raised at the end, together, at its file:line."""
    problems = Problems() if problems is None else problems
    regexes = RegexCache(None) if regexes is None else regexes
    empty = LineDict()
    empty.line, empty.key_lines = 1, {}
    defaults = raw.get("defaults") or empty
    timeouts = _timeouts(defaults.get("timeouts"), TimeoutSettings(10.0, 20.0, 30.0, 10.0))
    raw_providers = raw.get("providers") or empty
    providers = _providers(raw_providers, problems)
    raw_models = raw.get("models") or empty
    models = _models(raw_models, set(raw_providers) | invalid_keys(raw_providers), timeouts, problems)
    if not raw_models:
        problems.report(sources[-1], 1, "the policy defines no models")
    tasks = _tasks(raw.get("tasks") or empty, models, set(raw_models) | invalid_keys(raw_models), problems)
    classification = _classification(raw.get("classify") or empty, problems, regexes)
    if classification.default not in tasks and classification.default in TASKS and models and not problems:
        message = f"classify.default task '{classification.default}' has no models"
        problems.add(_fail(raw.get("classify") or raw, "default", message))
    profiles = _profiles(raw.get("profiles") or empty, problems) or {"balanced": Profile("balanced", None, 0, "cost")}
    default_profile = defaults.get("profile", next(iter(profiles)))
    if default_profile not in profiles:
        problems.add(_fail(defaults, "profile", f"defaults.profile names unknown profile '{default_profile}'"))
    complexity = _complexity(raw.get("complexity") or empty, problems, regexes)
    levels = _levels(raw.get("escalation") or LineList(), problems)
    budgets = _budgets(raw.get("budgets") or empty, problems)
    classify_model = _model_classifier(raw.get("classify") or empty, models, problems)
    ledger_url = _ledger_url(raw.get("ledger") or empty, problems)
    problems.raise_if_any()
    return Policy(
        sources=sources,
        default_profile=default_profile,
        default_max_output=defaults.get("max_output_tokens", 4096),
        timeouts=timeouts,
        providers=providers,
        models=models,
        tasks=tasks,
        classification=classification,
        complexity=complexity,
        escalation=levels,
        profiles=profiles,
        budgets=budgets,
        log_prompts=bool(defaults.get("log_prompts", False)),
        map_reduce=_map_reduce(raw.get("map_reduce") or empty),
        privacy=Privacy(tuple((raw.get("privacy") or empty).get("local_only") or ())),
        raw=raw,
        classify_model=classify_model,
        ledger_url=ledger_url,
    )


def _ledger_url(raw: LineDict, problems: Problems) -> str | None:
    """ledger.url: a postgresql:// URL with no password in it, which would be readable by whoever reads the policy
    (it comes from PGPASSWORD, ~/.pgpass or ROUTE_LEDGER_URL). The refusal never repeats the URL."""
    url = raw.get("url")
    if url is None:
        return None
    from urllib.parse import parse_qs, urlsplit

    if not url.startswith(("postgresql://", "postgres://")):
        problems.add(_fail(raw, "url", "ledger.url must be a postgresql:// URL"))
        return None
    try:
        parts = urlsplit(url)
        secret = parts.password is not None or "password" in parse_qs(parts.query)
    except ValueError:
        problems.add(_fail(raw, "url", "ledger.url is not a valid URL"))
        return None
    if secret:
        why = "who reads the policy would read it: put it in PGPASSWORD or ~/.pgpass, or the URL in ROUTE_LEDGER_URL"
        problems.add(_fail(raw, "url", f"ledger.url must not contain a password ({why})"))
        return None
    return str(url)


