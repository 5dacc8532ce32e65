"""The routing policy as typed, frozen objects: what `build.py` makes of the merged routes.yaml files."""

from __future__ import annotations

import re
from dataclasses import field
from decimal import Decimal
from typing import Any

from routecli.errors import UsageError
from routecli.values import frozen

TASKS = ("chat", "summarize", "code", "reasoning", "creative", "extract", "safety")
SPEEDS = ("fast", "standard", "slow")
PREFERENCES = ("cost", "capability")
ON_EXCEED = ("downgrade", "refuse")
ON_CONCERNS = ("warn", "escalate")  # what a reviewer's concerns lead to (tasks.<name>.review.on_concerns)


# ----------------------------------------------------------------------------- typed policy objects
# eq=False throughout: policy objects are never compared, and every generated method costs start-up time.


MIN_CHUNK_TOKENS = 1000  # the smallest map-reduce chunk (routing/mapreduce.py halves a chunk down to it)
MAX_TIER = 4  # tiers run from 1 (the cheapest model that will do) to 4 (the strongest)


@frozen(eq=False)
class Origin:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@frozen(eq=False)
class TimeoutSettings:
    connect: float
    first_token: float  # from the request to the first text: generous for a model that reasons first
    idle: float
    headers: float = 10.0  # from the request to the response headers: a silent provider is left quickly


@frozen(eq=False)
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


@frozen(eq=False)
class PriceOverride:
    """Prices per million tokens given in the policy; None fields fall back to genai-prices."""

    input: Decimal | None = None
    output: Decimal | None = None
    cached_input: Decimal | None = None


@frozen(eq=False)
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

    @property
    def shown_id(self) -> str:
        """The id as shown and recorded: masked when it is (by mistake) a key. `model_id` goes to the provider."""
        from routecli.policy.keyshapes import shown_model_id  # imports environment, which imports this module

        return shown_model_id(self.model_id)


@frozen(eq=False)
class ReviewSettings:
    """A second model checks a validated task's reply against a rubric before it is shown (issue 10)."""

    models: tuple[str, ...]  # reviewers in order of preference; one of another provider than the answer's first
    on_concerns: str  # warn: print the reply and the concerns | escalate: ask escalate_to once instead
    escalate_to: str | None
    max_output: int = 400  # the verdict is short JSON


@frozen(eq=False)
class Task:
    name: str
    candidates: tuple[str, ...]
    fallbacks: tuple[str, ...]
    min_tier: int
    interactive: bool
    validate: bool
    expected_output: int
    origin: Origin
    review: ReviewSettings | None = None


@frozen(eq=False)
class Rule:
    task: str
    weight: int
    patterns: tuple[re.Pattern[str], ...]
    origin: Origin
    name: str = ""  # what a user's policy names to replace or switch off this rule (policy/named.py)


@frozen(eq=False)
class Classification:
    default: str
    long_input_above: int | None
    long_input_task: str | None
    rules: tuple[Rule, ...]


@frozen(eq=False)
class ModelClassifier:
    """`classify.model`: a model asked for the task when the learned classifier is unsure (issue 11)."""

    model: str
    below: float  # consulted when the learned classifier's confidence is below this


@frozen(eq=False)
class Hint:
    weight: int
    pattern: re.Pattern[str]
    name: str = ""


@frozen(eq=False)
class ComplexitySettings:
    base: int
    long_prompt_above: int | None
    long_prompt_add: int
    hints: tuple[Hint, ...]


@frozen(eq=False)
class Escalation:
    above_tokens: int
    min_context: int
    min_tier: int | None


@frozen(eq=False)
class Profile:
    name: str
    max_cost_per_request: Decimal | None
    tier_shift: int
    prefer: str


@frozen(eq=False)
class Budgets:
    per_request: Decimal | None
    per_day: Decimal | None
    per_month: Decimal | None
    on_exceed: str
    per_user_day: Decimal | None = None  # each user's, over a shared ledger (ROUTE_USER / the login name)
    per_user_month: Decimal | None = None


@frozen(eq=False)
class MapReduceSettings:
    chunk_tokens: int = 60_000  # the most input one map call gets (and less if the model's window is smaller)
    partial_tokens: int = 600  # max output of each map call
    concurrency: int = 4  # map calls in flight at once
    above_tokens: int | None = None  # chunk even when a window fits, above this many tokens


@frozen(eq=False)
class Privacy:
    local_only: tuple[str, ...] = ()  # globs of attached files that never go to a remote model


@frozen(eq=False)
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
    map_reduce: MapReduceSettings = field(default_factory=MapReduceSettings)
    privacy: Privacy = field(default_factory=Privacy)
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    discovered: frozenset[str] = frozenset()  # local providers whose server answered discovery (discover.py)
    silent: frozenset[str] = frozenset()  # local providers discovery asked that did not answer
    classify_model: ModelClassifier | None = None  # off unless `classify.model` names one
    ledger_url: str | None = None  # ledger.url: a shared PostgreSQL ledger (ROUTE_LEDGER_URL wins)
    fingerprint: str = ""  # policy/fingerprint.py's hash of `raw` when the loader has it (cached with the policy)

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


