"""Which model reviews a validated task's reply, and what the review may cost at worst (issue 10).

Pure, like the decision: `route explain` shows the plan made here, and `run/review.py` asks this module again
for the model that actually answered (a fallback may have), so both name the same reviewer.
"""

from __future__ import annotations

from decimal import Decimal

from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy, ReviewSettings
from routecli.routing.caps import run_cap, unpriced_under
from routecli.routing.decide import Decision, RoutingState, _budget_reasons
from routecli.routing.options import RequestOptions
from routecli.values import frozen

RUBRIC_TOKENS = 250  # the reviewer's instructions and rubric, around the request and the reply


@frozen(eq=False)
class Reviewer:
    """The reviewer for one answering model, or why there is none (`alias` None)."""

    alias: str | None
    why: str  # "another provider than claude-sonnet", or the reason no reviewer can run


@frozen(eq=False)
class ReviewPlan:
    settings: ReviewSettings
    reviewer: Reviewer  # for the chosen model
    worst_case_cost: Decimal | None  # the reviewer reading the longest reply and writing its longest verdict
    over_budget: str | None = None  # the reply and its review, at worst, would cross this budget: no review

    def as_dict(self) -> dict[str, object]:
        return {
            "reviewer": self.reviewer.alias,
            "why": self.reviewer.why,
            "on_concerns": self.settings.on_concerns,
            "escalate_to": self.settings.escalate_to,
            "worst_case_cost_usd": None if self.worst_case_cost is None else float(self.worst_case_cost),
            "over_budget": self.over_budget,
        }


def usable(policy: Policy, state: RoutingState, alias: str) -> str | None:
    """Why this model cannot be called from here now (no key, local server off, cooling down), or None."""
    model = policy.models[alias]
    provider = policy.providers[model.provider]
    if provider.name in state.unusable:
        return f"{alias}: {state.unusable[provider.name]}"
    if provider.local and provider.name not in state.local_enabled:
        return f"{alias}: local server not enabled"
    if not provider.local and not state.keys_present.get(provider.name, False):
        return f"{alias}: no API key (set {provider.key_env})"
    for key in (f"provider:{provider.name}", f"model:{alias}"):
        cooldown = state.cooldowns.get(key)
        if cooldown and cooldown.until > state.now:
            return f"{alias}: cooling down"
    return None


def choose_reviewer(policy: Policy, state: RoutingState, settings: ReviewSettings, answering: str) -> Reviewer:
    """The first usable listed model of another provider than `answering`'s; else another model of the same
    provider; never the answering model itself."""
    provider = policy.models[answering].provider
    others = [alias for alias in settings.models if alias != answering]
    problems = [p for p in (usable(policy, state, alias) for alias in others) if p]
    ready = [alias for alias in others if usable(policy, state, alias) is None]
    for alias in ready:
        if policy.models[alias].provider != provider:
            return Reviewer(alias, f"another provider than {answering}")
    if ready:
        return Reviewer(ready[0], f"no other provider's reviewer is usable; another {provider} model")
    listed = ", ".join(problems) if problems else f"no reviewer listed other than {answering}"
    return Reviewer(None, f"no usable reviewer ({listed})")


def plan_review(
    policy: Policy, prices: PriceTable, state: RoutingState, options: RequestOptions, decision: Decision
) -> ReviewPlan | None:
    """The review of this decision's reply, when its task has one and a model was chosen. Its worst case counts
    with the reply's against the budgets: a review that would cross one is not made (and `ask` says so)."""
    task = policy.tasks.get(decision.task)
    if task is None or task.review is None or decision.chosen is None:
        return None
    reviewer = choose_reviewer(policy, state, task.review, decision.chosen)
    worst = None
    if reviewer.alias is not None:
        price = prices.get(reviewer.alias)
        reply = decision.verdict(decision.chosen).output_reserve
        if price is not None:
            worst = price.cost(decision.tokens.value + reply + RUBRIC_TOKENS, task.review.max_output)
    chain = [decision.verdict(alias).worst_case_cost for alias in decision.chain]
    answer = None if any(w is None for w in chain) else max(w for w in chain if w is not None)  # any may answer
    cap = run_cap(policy, options, state.spent_today, state.spent_month)
    if reviewer.alias is not None and worst is None and cap is not None:  # unknown is not $0
        return ReviewPlan(task.review, reviewer, worst, f"the reviewer {reviewer.alias} has {unpriced_under(cap)}")
    if worst is not None and answer is not None:
        crossed = _budget_reasons(policy, state, options, answer + worst)
        if crossed:
            return ReviewPlan(task.review, reviewer, worst, f"the reply and its review: {crossed[0].text}")
    return ReviewPlan(task.review, reviewer, worst)
