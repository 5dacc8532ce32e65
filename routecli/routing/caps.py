"""The money one run may spend, and the worst case of one call: the only arithmetic the plan (`explain`'s worst
case, the map-reduce refusal) and the executor's guard before every attempt share, so what `explain` promises
is what the run enforces.

Pure: the spend so far today and this month comes in with the RoutingState.
"""

from __future__ import annotations

from decimal import Decimal

from routecli.errors import BudgetError
from routecli.policy.prices import Price, money
from routecli.policy.types import Policy
from routecli.routing.options import RequestOptions
from routecli.values import frozen


@frozen
class Cap:
    """The most one run (every retry, fallback, chunk and combining call together) may spend."""

    amount: Decimal
    name: str  # for people: "the balanced profile's cap", "the per-request budget (--max-cost)", ...

    def describe(self) -> str:
        return f"{money(self.amount)} ({self.name})"


def run_cap(policy: Policy, options: RequestOptions, spent_today: Decimal, spent_month: Decimal) -> Cap | None:
    """The tightest of the per-request cap (`--max-cost`, else the profile's, which a model pinned with -m is
    not held to, as in the decision), the policy's per-request budget and what is left of the daily and monthly
    budgets; None when nothing limits the run."""
    limits: list[Cap] = []
    profile = policy.profile(options.profile)
    if options.request_budget is not None:  # the user's own cap for this request stands for the profile's
        limits.append(Cap(options.request_budget, "the per-request budget, --max-cost"))
    elif profile.max_cost_per_request is not None and not options.pinned:
        limits.append(Cap(profile.max_cost_per_request, f"the {profile.name} profile's cap per request"))
    budgets = policy.budgets
    if budgets.per_request is not None:
        limits.append(Cap(budgets.per_request, "the per-request budget, budgets.per_request"))
    if budgets.per_day is not None:
        limits.append(Cap(max(budgets.per_day - spent_today, Decimal(0)), "what is left of the daily budget"))
    if budgets.per_month is not None:
        limits.append(Cap(max(budgets.per_month - spent_month, Decimal(0)), "what is left of the monthly budget"))
    return min(limits, key=lambda cap: cap.amount) if limits else None


def unpriced_under(cap: Cap) -> str:
    """Why a model with no price may not run under a money limit: its worst case is unknown, not $0."""
    return (f"no price, so its worst case cannot be held to {cap.name}; give it a `price:` in the policy, "
            "or drop the limit")


def attempt_worst(price: Price | None, input_tokens: int, max_output: int) -> Decimal | None:
    """The most one call can cost: every input token plus its whole output reserve (None: unpriced)."""
    if price is None:
        return None
    return price.cost(input_tokens, max_output)


class CapReached(BudgetError):
    """Raised by the guard before an attempt whose worst case would cross the cap (nothing was sent for it).
    `not_done` says what was left undone; map-reduce rewrites it with the chunks."""

    def __init__(
        self, spent: Decimal, cap: Cap, alias: str, worst: Decimal, not_done: str = "not done: the reply"
    ) -> None:
        self.spent = spent
        self.cap = cap
        self.alias = alias
        self.worst = worst
        self.not_done = not_done
        super().__init__(
            f"stopped before crossing the cap: spent {money(spent)} of cap {cap.describe()}; "
            f"{not_done} (the next call, {alias}, worst case {money(worst)}, would cross it)"
        )

    def but_not_done(self, not_done: str, spent: Decimal) -> CapReached:
        return CapReached(spent, self.cap, self.alias, self.worst, not_done)


class UnpricedUnderCap(BudgetError):
    """Raised by the guard before an attempt of a model with no price while a money limit applies (nothing was
    sent): the decision excludes such models, so this holds the side calls and late changes to the same rule."""

    def __init__(self, cap: Cap, alias: str) -> None:
        self.cap = cap
        self.alias = alias
        super().__init__(f"{alias} not called: {unpriced_under(cap)}")
