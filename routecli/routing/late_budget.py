"""A budget found spent only as an attempt is written ahead (ledger/admission.py): other runs' calls landed after
this run read the spend. Under `budgets.on_exceed: downgrade` the request is decided again by `decide` itself with
the spend the ledger showed, so the run falls to the models the planner would have chosen had it known (a cheaper
candidate or fallback whose worst case fits, or a lower tier: a free local model too). One rule for both times.

Pure, like the decision: the spend comes in with the refusal.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.routing.classify import TaskChoice
from routecli.routing.decide import Decision, RoutingState, decide
from routecli.routing.options import RequestOptions


def decided_again(
    decision: Decision, policy: Policy, prices: PriceTable, state: RoutingState, options: RequestOptions
) -> Decision:
    """The same request (task, complexity, tokens) decided in another state of the world."""
    choice = TaskChoice(decision.task, decision.evidence, {}, decision.task_forced)
    return decide(policy, prices, state, options, choice, decision.complexity, decision.tokens)


def downgraded_chain(
    decision: Decision,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    spent: tuple[Decimal | None, Decimal | None],
    left_out: set[str],
) -> tuple[str, ...] | None:
    """The models to try next, in order, after a late refusal: the chain decided again with `spent` (today, this
    month; None: that budget is not set) less `left_out` (tried or refused already); empty when no model fits
    what is left. None when the policy says `on_exceed: refuse`: the refusal stands, as the planner's would."""
    if policy.budgets.on_exceed != "downgrade":
        return None
    today, month = spent
    seen = replace(
        state,
        spent_today=state.spent_today if today is None else today,
        spent_month=state.spent_month if month is None else month,
    )
    again = decided_again(decision, policy, prices, seen, options)
    return tuple(alias for alias in again.chain if alias not in left_out)
