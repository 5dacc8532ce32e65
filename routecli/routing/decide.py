"""The decision: which model takes this request, which follow if it fails, and why.

`decide` is a pure function of (request facts, task, tokens, policy, prices, state). `route explain`,
the panel shown before a call, `--json` and the ledger all render the one Decision it returns.
"""

from __future__ import annotations

from dataclasses import field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from routecli.policy.prices import PriceTable, money
from routecli.policy.types import MAX_TIER, Model, Policy, Profile
from routecli.routing.caps import attempt_worst, run_cap, unpriced_under
from routecli.routing.classify import Complexity, TaskChoice
from routecli.routing.exclusions import MONEY, Exclusion, Why, describe, only
from routecli.routing.options import RequestOptions
from routecli.routing.refusal import considered, is_too_large, no_model_error  # noqa: F401 - their old home
from routecli.routing.tokens import TokenCount
from routecli.values import frozen

if TYPE_CHECKING:
    from routecli.ledger.cooldowns import Cooldown  # a type only: the decision imports nothing that does I/O
    from routecli.routing.secrets import Finding



@frozen(eq=False)
class RoutingState:
    """What the world looks like right now, gathered by the caller (env, disk, ledger)."""

    keys_present: dict[str, bool]  # provider name -> key found in the environment
    local_enabled: frozenset[str] = frozenset()  # local providers the user has switched on
    unusable: dict[str, str] = field(default_factory=dict)  # provider name -> a setting that can never work
    cooldowns: dict[str, Cooldown] = field(default_factory=dict)  # "provider:NAME" / "model:ALIAS"
    spent_today: Decimal = Decimal(0)
    spent_month: Decimal = Decimal(0)
    now: float = 0.0


@frozen(eq=False)
class Verdict:
    alias: str
    provider: str
    model_id: str
    role: str  # "candidate" | "fallback" | "pinned" | "other"
    tier: int
    speed: str
    context: int
    exclusions: tuple[Exclusion, ...]  # empty: eligible
    estimated_cost: Decimal | None  # input tokens + the task's expected output
    worst_case_cost: Decimal | None  # input tokens + the full output reserve
    output_reserve: int
    downgraded: bool = False  # made eligible by a budget downgrade, whatever its tier

    @property
    def eligible(self) -> bool:
        return not self.exclusions

    @property
    def why(self) -> str:
        """For people only: nothing decides on this text."""
        return describe(self.exclusions, "eligible (budget downgrade)" if self.downgraded else "eligible")


@frozen(eq=False)
class Decision:
    task: str
    evidence: tuple[str, ...]
    task_forced: bool
    complexity: Complexity
    required_tier: int
    tokens: TokenCount
    profile: str
    escalation: tuple[str, ...]
    candidates: tuple[Verdict, ...]
    chosen: str | None
    chain: tuple[str, ...]
    reason: str
    validate: bool
    budget_notes: tuple[str, ...]
    budget_refusal: str | None = None  # set when a budget refuses every model: the caller raises it
    secrets: tuple[Finding, ...] = ()  # what the prompt holds (kind and place, never the value)
    secrets_allowed: bool = False  # --allow-secrets: remote models were not excluded for them

    def verdict(self, alias: str) -> Verdict:
        return next(v for v in self.candidates if v.alias == alias)


def output_reserve(model: Model, policy: Policy, options: RequestOptions) -> int:
    return min(options.max_tokens or policy.default_max_output, model.max_output)


def _costs(
    model: Model, prices: PriceTable, tokens: int, expected: int, reserve: int
) -> tuple[Decimal | None, Decimal | None]:
    price = prices.get(model.alias)
    if price is None:
        return None, None
    return price.cost(tokens, min(expected, reserve)), attempt_worst(price, tokens, reserve)


def _required_tier(policy: Policy, task_min: int, complexity: Complexity, profile: Profile) -> int:
    return max(1, min(MAX_TIER, task_min + complexity.tier_shift + profile.tier_shift))


def _fmt_tokens(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else str(n)


def _check(
    model: Model,
    role: str,
    policy: Policy,
    state: RoutingState,
    options: RequestOptions,
    tokens: int,
    required_tier: int,
    profile: Profile,
    worst: Decimal | None,
    reserve: int,
) -> list[Exclusion]:
    """Every reason this model may not take the request (empty list: eligible)."""
    reasons: list[Exclusion] = []
    provider = policy.providers[model.provider]
    if options.local_only and not provider.local:
        reasons.append(Exclusion(Why.NOT_LOCAL, "not local (--local)"))
    if options.keep_local and not provider.local:
        reasons.append(Exclusion(Why.SECRET, "remote, and the prompt holds a secret (--allow-secrets sends it)"))
    if (problem := state.unusable.get(provider.name)) is not None:
        reasons.append(Exclusion(Why.BAD_SETTING, problem))
    elif provider.local:
        if provider.name in policy.silent:
            reasons.append(
                Exclusion(
                    Why.NO_LOCAL_SERVER,
                    f"no local server answering ({provider.name}: start it, or set {provider.base_url_env})",
                )
            )
        elif not options.local_only and provider.name not in state.local_enabled:
            reasons.append(
                Exclusion(
                    Why.LOCAL_NOT_ENABLED, f"local server not enabled (use --local or set {provider.base_url_env})"
                )
            )
    elif not state.keys_present.get(provider.name, False):
        reasons.append(Exclusion(Why.NO_KEY, f"no API key (set {provider.key_env})"))
    for key in (f"provider:{provider.name}", f"model:{model.alias}"):
        cooldown = state.cooldowns.get(key)
        if cooldown and cooldown.until > state.now:
            left = int(cooldown.until - state.now) + 1
            reasons.append(Exclusion(Why.COOLING_DOWN, f"cooling down for {left}s after {cooldown.reason}"))
    tier_applies = role == "candidate" and not (options.local_only or options.keep_local)  # local: what there is
    if tier_applies and model.tier < required_tier:
        reasons.append(Exclusion(Why.TIER, f"tier {model.tier} below required {required_tier}"))
    if tokens + reserve > model.context:
        need = f"{_fmt_tokens(tokens)} tokens + {_fmt_tokens(reserve)} output"
        reasons.append(Exclusion(Why.WINDOW, f"context {_fmt_tokens(model.context)} too small for {need}"))
    for level in policy.escalation:
        if tokens > level.above_tokens:
            if model.context < level.min_context:
                window = _fmt_tokens(level.min_context)
                reasons.append(
                    Exclusion(
                        Why.ESCALATION_WINDOW,
                        f"above {_fmt_tokens(level.above_tokens)} tokens a {window} window is required",
                    )
                )
            if level.min_tier and model.tier < level.min_tier and role != "pinned":
                reasons.append(
                    Exclusion(
                        Why.ESCALATION_TIER,
                        f"above {_fmt_tokens(level.above_tokens)} tokens tier {level.min_tier}+ is required",
                    )
                )
    # The cap holds for the worst case (the executor checks it before every attempt); --max-cost stands for it
    # (checked with the budgets below).
    cap = profile.max_cost_per_request if options.request_budget is None else None
    if role != "pinned" and worst is not None and cap is not None and worst > cap:
        over = f"worst case {money(worst)} over the {profile.name} profile's {money(cap, 2)} per request"
        reasons.append(Exclusion(Why.PROFILE_CAP, over))
    reasons += _budget_reasons(policy, state, options, worst)
    return reasons


def _budget_reasons(
    policy: Policy, state: RoutingState, options: RequestOptions, worst: Decimal | None
) -> list[Exclusion]:
    if worst is None:
        return []
    budgets = policy.budgets
    reasons = []
    per_request = [b for b in (budgets.per_request, options.request_budget) if b is not None]
    if per_request and worst > min(per_request):
        reasons.append(
            Exclusion(
                Why.REQUEST_BUDGET,
                f"worst case {money(worst)} over the per-request budget {money(min(per_request), 2)}",
            )
        )
    if budgets.per_day is not None and state.spent_today + worst > budgets.per_day:
        reasons.append(
            Exclusion(
                Why.DAY_BUDGET,
                f"would cross the daily budget ({money(state.spent_today, 2)} spent of {money(budgets.per_day, 2)})",
            )
        )
    if budgets.per_month is not None and state.spent_month + worst > budgets.per_month:
        reasons.append(
            Exclusion(
                Why.MONTH_BUDGET,
                f"would cross the monthly budget ({money(state.spent_month, 2)} spent of "
                f"{money(budgets.per_month, 2)})",
            )
        )
    return reasons


def decide(
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    task_choice: TaskChoice,
    complexity: Complexity,
    tokens: TokenCount,
) -> Decision:
    task = policy.tasks[task_choice.task]
    profile = policy.profile(options.profile)
    required = _required_tier(policy, task.min_tier, complexity, profile)
    # A task cannot ask for more than its strongest candidate offers: cap rather than fall through
    # to (weaker) fallbacks.
    strongest = max(policy.models[a].tier for a in task.candidates)
    capped_from = required if required > strongest else None
    required = min(required, strongest)
    n = tokens.value
    if options.pinned is not None:
        policy.model(options.pinned)  # raises UsageError for an unknown alias

    roles: dict[str, str] = {}
    for alias in task.candidates:
        roles.setdefault(alias, "candidate")
    for alias in task.fallbacks:
        roles.setdefault(alias, "fallback")
    if options.keep_local:  # a secret stays on this machine: any local model may take it, whatever the task
        for alias in (a for a, m in policy.models.items() if policy.providers[m.provider].local):
            roles.setdefault(alias, "fallback")
    if options.pinned:
        roles = {options.pinned: "pinned", **{a: r for a, r in roles.items() if a != options.pinned}}

    verdicts: list[Verdict] = []
    cap = run_cap(policy, options, state.spent_today, state.spent_month)  # the guard's: any money limit at all
    for alias, role in roles.items():
        model = policy.models[alias]
        reserve = output_reserve(model, policy, options)
        estimated, worst = _costs(model, prices, n, task.expected_output, reserve)
        reasons = _check(model, role, policy, state, options, n, required, profile, worst, reserve)
        if worst is None and cap is not None:  # unknown is not $0: it cannot be shown to fit
            reasons.append(Exclusion(Why.UNPRICED, unpriced_under(cap)))
        if options.pinned and role != "pinned":
            reasons = [Exclusion(Why.NOT_PINNED, f"not pinned (-m {options.pinned})")]
        verdicts.append(
            Verdict(
                alias,
                model.provider,
                model.shown_id,  # the decision is only shown and recorded: a key pasted as an id, masked
                role,
                model.tier,
                model.speed,
                model.context,
                tuple(reasons),
                estimated,
                worst,
                reserve,
            )
        )

    budget_notes: list[str] = []
    refusal: str | None = None
    eligible = [v for v in verdicts if v.eligible]
    if not any(v.role in ("candidate", "pinned") for v in eligible):
        blocked_by_budget = [v for v in verdicts if v.role in ("candidate", "pinned") and only(v.exclusions, MONEY)]
        if blocked_by_budget:
            first = blocked_by_budget[0]
            budget_notes.append(first.why)
            if policy.budgets.on_exceed == "refuse" or options.pinned:
                refusal = f"refused by budget: {first.why} ({first.alias})"
                eligible = []
            else:
                verdicts, downgraded = _downgrade(policy, prices, state, options, verdicts, task.expected_output, n)
                if downgraded:
                    budget_notes.append(f"downgraded to {downgraded} to stay within budget")
                eligible = [v for v in verdicts if v.eligible]
                if not eligible:
                    refusal = f"refused by budget: {first.why}; no cheaper model fits"

    ordered = _order(eligible, profile, task.interactive and options.interactive)
    chain = tuple(v.alias for v in ordered)
    chosen = chain[0] if chain else None
    escalation = tuple(
        f"above {_fmt_tokens(lv.above_tokens)} tokens: window >= {_fmt_tokens(lv.min_context)}"
        + (f", tier >= {lv.min_tier}" if lv.min_tier else "")
        for lv in policy.escalation
        if n > lv.above_tokens
    )
    reason = _reason(task.name, chosen, verdicts, ordered, profile, required, options, escalation, budget_notes)
    if capped_from is not None and chosen is not None:
        reason += (
            f"; complexity asked for tier {capped_from}, capped at {required}, the strongest {task.name} candidate"
        )
    return Decision(
        task=task.name,
        evidence=task_choice.evidence,
        task_forced=task_choice.forced,
        complexity=complexity,
        required_tier=required,
        tokens=tokens,
        profile=profile.name,
        escalation=escalation,
        candidates=tuple(verdicts),
        chosen=chosen,
        chain=chain,
        reason=reason,
        validate=task.validate,
        budget_notes=tuple(budget_notes),
        budget_refusal=refusal,
        secrets=options.secrets,
        secrets_allowed=options.allow_secrets,
    )


def _downgrade(
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    verdicts: list[Verdict],
    expected: int,
    tokens: int,
) -> tuple[list[Verdict], str | None]:
    """Budget exceeded: look for any model of the task (any tier) whose worst case fits the budget."""
    updated: list[Verdict] = []
    found: str | None = None
    for v in verdicts:
        if not v.eligible and only(v.exclusions, frozenset({Why.TIER})) and v.role == "candidate":
            updated.append(replace(v, exclusions=(), downgraded=True))
            found = found or v.alias
        else:
            updated.append(v)
    return updated, found


def _order(eligible: list[Verdict], profile: Profile, prefer_fast: bool) -> list[Verdict]:
    """Candidates first (best first), then fallbacks in the policy's order."""
    unknown = Decimal("1e9")  # unpriced models go last among candidates

    def key(v: Verdict) -> tuple:
        cost = v.estimated_cost if v.estimated_cost is not None else unknown
        if profile.prefer == "capability":
            return (-v.tier, cost)
        if prefer_fast:
            return (v.speed != "fast", cost)
        return (cost,)

    primary = sorted((v for v in eligible if v.role in ("candidate", "pinned")), key=key)
    primary.sort(key=lambda v: v.role != "pinned")
    fallbacks = [v for v in eligible if v.role == "fallback"]
    return primary + fallbacks


def _reason(
    task: str,
    chosen: str | None,
    verdicts: list[Verdict],
    ordered: list[Verdict],
    profile: Profile,
    required: int,
    options: RequestOptions,
    escalation: tuple[str, ...],
    budget_notes: list[str],
) -> str:
    if chosen is None:
        return f"no model can take this {task} request: every candidate and fallback is excluded"
    pick = ordered[0]
    priced = pick.estimated_cost is not None
    cost = f"an estimated {money(pick.estimated_cost)}" if priced else "an unknown price"
    if pick.role == "pinned":
        return f"{chosen} was pinned with -m; " + (f"estimated {money(pick.estimated_cost)}" if priced else
                                                   "its price is unknown")
    candidates = [v for v in verdicts if v.role == "candidate"]
    eligible_candidates = [v for v in candidates if v.eligible]
    if pick.role == "fallback":
        return f"no {task} candidate is eligible, so fallback {chosen} takes it at {cost}"
    if profile.prefer == "capability":
        why = f"the most capable eligible {task} candidate (tier {pick.tier})"
    elif options.interactive and pick.speed == "fast" and len(eligible_candidates) > 1:
        why = f"the cheapest fast {task} candidate for interactive use"
    else:
        count = len(eligible_candidates)
        why = (
            f"the cheapest of {count} eligible {task} candidates"
            if count > 1
            else f"the only eligible {task} candidate"
        )
    tier = (
        f"tier {pick.tier} >= required {required}"
        if pick.tier >= required
        else (f"tier {pick.tier}, below the required {required}")
    )
    text = f"{chosen} is {why}, at {cost} ({tier})"
    excluded = len(candidates) - len(eligible_candidates)
    if excluded:
        text += f"; {excluded} of {len(candidates)} excluded"
    if escalation:
        text += "; " + escalation[-1]
    if budget_notes:
        text += "; " + budget_notes[-1]
    return text
