"""From a Request to a Decision: the steps `explain`, `ask` and `summarize` share.

Loads nothing it does not need: prices come from the cache, the tokenizer only if a threshold depends
on the exact count, and no SDK at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .classify import classify, estimate_complexity
from .inputs import Request
from .paths import Paths
from .policy import Policy
from .prices import PriceTable, resolve_prices
from .router import Decision, Options, RoutingState, decide, thresholds
from .state import gather_state
from .tokens import count


@dataclass(frozen=True)
class Plan:
    request: Request
    decision: Decision
    prices: PriceTable
    state: RoutingState
    options: Options
    paths: Paths


def make_plan(
    request: Request,
    policy: Policy,
    paths: Paths,
    options: Options,
    task: str | None = None,
    complexity: int | None = None,
    exact_tokens: bool = False,
    spent: tuple[Decimal, Decimal] | None = None,
) -> Plan:
    prices = resolve_prices(policy, paths.price_cache)
    if spent is None:
        spent = _spent(policy, paths)
    state = gather_state(policy, paths, *spent)
    prompt = request.prompt()
    if request.system:
        prompt = request.system + "\n\n" + prompt
    data = prompt.encode("utf-8", errors="surrogatepass")
    tokens = count(prompt, data, thresholds(policy, prices, options), force_exact=exact_tokens)
    task_choice = classify(policy, request.instruction, request.attached_text, tokens.value, task)
    level = estimate_complexity(policy, request.instruction, request.attached_text, tokens.value, complexity)
    decision = decide(policy, prices, state, options, task_choice, level, tokens)
    return Plan(request, decision, prices, state, options, paths)


def _spent(policy: Policy, paths: Paths) -> tuple[Decimal, Decimal]:
    """Today's and this month's spend, read from the ledger only when a budget needs them."""
    if policy.budgets.per_day is None and policy.budgets.per_month is None:
        return Decimal(0), Decimal(0)
    from .ledger import spent

    return spent(paths.ledger)
