"""Building typed, frozen policy objects from the merged and checked YAML. A mistake is a PolicyError at file:line."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from routecli.errors import PolicyError
from routecli.policy.located import LineDict, LineList
from routecli.policy.schema import probe_url
from routecli.policy.types import (
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
    Origin,
    Policy,
    PriceOverride,
    Profile,
    Provider,
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
        if entry.get("key_env") is not None and not _ENV_NAME.fullmatch(entry["key_env"]):
            raise _fail(entry, "key_env", f"provider '{name}': {_key_env_problem(entry['key_env'])}")
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
            probe=tuple(url for url in map(probe_url, entry.get("probe") or []) if url),
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
        map_reduce=_map_reduce(raw.get("map_reduce") or empty),
        raw=raw,
        ledger_url=_ledger_url(raw.get("ledger") or empty),
    )


def _ledger_url(raw: LineDict) -> str | None:
    """ledger.url: a postgresql:// URL with no password in it, which would be readable by whoever reads the policy
    (it comes from PGPASSWORD, ~/.pgpass or ROUTE_LEDGER_URL). The refusal never repeats the URL."""
    url = raw.get("url")
    if url is None:
        return None
    from urllib.parse import parse_qs, urlsplit

    if not url.startswith(("postgresql://", "postgres://")):
        raise _fail(raw, "url", "ledger.url must be a postgresql:// URL")
    try:
        parts = urlsplit(url)
        secret = parts.password is not None or "password" in parse_qs(parts.query)
    except ValueError:
        raise _fail(raw, "url", "ledger.url is not a valid URL") from None
    if secret:
        raise _fail(
            raw,
            "url",
            "ledger.url must not contain a password (anyone who reads the policy would read it): put it in "
            "PGPASSWORD or ~/.pgpass, or the whole URL in ROUTE_LEDGER_URL",
        )
    return str(url)


