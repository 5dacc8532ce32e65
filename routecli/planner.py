"""From a Request to a Decision: the steps `explain`, `ask` and `summarize` share.

Loads nothing it does not need: prices come from the cache, the tokenizer only if a threshold depends
on the exact count, and no SDK at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from .classify import classify, estimate_complexity
from .inputs import Request
from .paths import Paths
from .policy import Policy
from .prices import PriceTable, resolve_prices
from .router import Decision, Options, RoutingState, decide, thresholds
from .state import gather_state
from .tokens import count

if TYPE_CHECKING:
    from .mapreduce import MapReducePlan


@dataclass(frozen=True)
class Plan:
    request: Request
    decision: Decision
    prices: PriceTable
    state: RoutingState
    options: Options
    paths: Paths
    mapreduce: MapReducePlan | None = None


def make_plan(
    request: Request,
    policy: Policy,
    paths: Paths,
    options: Options,
    task: str | None = None,
    complexity: int | None = None,
    exact_tokens: bool = False,
    spent: tuple[Decimal, Decimal] | None = None,
    allow_map_reduce: bool = True,
) -> Plan:
    prices = resolve_prices(policy, paths.price_cache)
    if spent is None:
        spent = _spent(policy, paths)
    state = gather_state(policy, paths, *spent)
    parts = request.parts()
    if request.system:
        parts = [request.system.encode("utf-8", errors="surrogatepass"), b"\n\n", *parts]
    tokens = count(parts, thresholds(policy, prices, options), force_exact=exact_tokens)
    del parts
    head = request.attached_head
    task_choice = classify(policy, request.instruction, head, tokens.value, task)
    level = estimate_complexity(policy, request.instruction, head, tokens.value, complexity)
    decision = decide(policy, prices, state, options, task_choice, level, tokens)
    mapreduce = None
    if allow_map_reduce and decision.task == "summarize":
        from . import mapreduce as mr

        settings = mr.settings_from(policy)
        if mr.needed(decision, settings):
            mapreduce = mr.plan(request, policy, prices, state, options, settings)
    return Plan(request, decision, prices, state, options, paths, mapreduce)


def require_model(plan: Plan) -> None:
    """Raise the right one-line error when neither one call nor a map-reduce plan can go ahead."""
    from .errors import BudgetError
    from .router import no_model_error

    if plan.mapreduce is not None:
        if plan.mapreduce.budget:
            raise BudgetError(plan.mapreduce.budget)
        return
    if plan.decision.chosen is None:
        raise no_model_error(plan.decision)


def _spent(policy: Policy, paths: Paths) -> tuple[Decimal, Decimal]:
    """Today's and this month's spend, read from the ledger only when a budget needs them."""
    if (policy.budgets.per_day is None and policy.budgets.per_month is None) or not paths.ledger.exists():
        return Decimal(0), Decimal(0)
    from .ledger import spent

    return spent(paths.ledger)
