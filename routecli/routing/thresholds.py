"""The token counts at which the decision could change its answer: the caller counts exactly only near one."""

from __future__ import annotations

from decimal import Decimal

from routecli.policy.prices import MILLION, PriceTable
from routecli.policy.types import Policy
from routecli.routing.decide import output_reserve
from routecli.routing.options import RequestOptions


def thresholds(policy: Policy, prices: PriceTable, options: RequestOptions) -> list[float]:
    """Every token count at which some `tokens > x` test in the decision changes its answer.

    The caller counts tokens exactly only when one of these falls between the cheap bounds.
    """
    points: list[float] = [lv.above_tokens for lv in policy.escalation]
    c = policy.classification
    if c.long_input_above is not None:
        points.append(c.long_input_above)
    if policy.complexity.long_prompt_above is not None:
        points.append(policy.complexity.long_prompt_above)
    limits = [p.max_cost_per_request for p in policy.profiles.values()]
    limits += [policy.budgets.per_request, options.request_budget]
    for model in policy.models.values():
        reserve = output_reserve(model, policy, options)
        fit_limit = model.context - reserve
        points.append(fit_limit)
        price = prices.get(model.alias)
        if price is None:
            continue
        # Cost tests only matter while the model still fits; past its window it is out anyway.
        model_points: list[float] = [start for start, _ in price.input_tiers]
        for task in policy.tasks.values():
            out = Decimal(min(task.expected_output, reserve))
            for limit in limits:
                if limit is not None and price.input > 0:
                    for output in (out, Decimal(reserve)):
                        model_points.append(float((limit * MILLION - output * price.output) / price.input))
        points += [p for p in model_points if p < fit_limit]
    return points
