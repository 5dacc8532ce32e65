"""From a Request to a Plan: the steps `explain`, `ask` and `summarize` share.

Pure: the caller reads the world once (prices, keys, cooldowns, spend: `run/state.py`) and hands it in. Tokens
are counted from the bytes, with the tokenizer loaded only when a threshold depends on the exact count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from routecli.errors import BudgetError, NoModelError
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.routing.classify import classify, estimate_complexity, read_prompt
from routecli.routing.decide import Decision, RoutingState, decide, no_model_error
from routecli.routing.inputs import Request, truncated
from routecli.routing.options import RequestOptions
from routecli.routing.refusal import secret_refusal
from routecli.routing.secrets import scan
from routecli.routing.thresholds import thresholds
from routecli.routing.tokens import count

if TYPE_CHECKING:
    from routecli.routing.mapreduce import MapReducePlan

TRUNCATE_MARGIN_TOKENS = 500


@dataclass(frozen=True)
class Truncation:
    original_bytes: int
    kept_bytes: int
    to_fit: str  # the model whose window the input was cut to


@dataclass(frozen=True)
class Plan:
    request: Request  # as it will be sent (--truncate may have cut it)
    decision: Decision
    prices: PriceTable
    state: RoutingState
    options: RequestOptions
    mapreduce: MapReducePlan | None = None
    truncation: Truncation | None = None


def make_plan(
    request: Request,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    allow_map_reduce: bool = True,
    known_keys: Mapping[str, str] | None = None,
) -> Plan:
    """`known_keys`: environment variable -> the key route holds (found verbatim in a prompt, it is a secret)."""
    options = options.but(secrets=scan(request, policy.privacy.local_only, known_keys))
    decision = _decide(request, policy, prices, state, options)
    mapreduce = None
    if allow_map_reduce and decision.task == "summarize":
        from routecli.routing import mapreduce as mr

        if mr.needed(decision, policy.map_reduce):
            try:
                mapreduce = mr.plan(request, policy, prices, state, options, policy.map_reduce)
            except NoModelError:
                if options.keep_local:  # no local model for the chunks: the secret is why, and says the way out
                    raise secret_refusal(options.secrets) from None
                raise
    plan = Plan(request, decision, prices, state, options, mapreduce)
    if decision.chosen is None and mapreduce is None and options.truncate:
        return _truncated(plan, policy)
    return plan


def _decide(
    request: Request, policy: Policy, prices: PriceTable, state: RoutingState, options: RequestOptions
) -> Decision:
    parts = request.parts()
    if request.system:
        parts = [request.system.encode("utf-8", errors="surrogatepass"), b"\n\n", *parts]
    tokens = count(parts, thresholds(policy, prices, options), force_exact=options.exact_tokens)
    del parts
    head = request.attached_head
    reading = read_prompt(request.instruction, head)  # the learned model, once for task and complexity
    task_choice = classify(policy, request.instruction, head, tokens.value, options.task, reading)
    level = estimate_complexity(policy, request.instruction, head, tokens.value, options.complexity, reading)
    return decide(policy, prices, state, options, task_choice, level, tokens)


def _truncated(plan: Plan, policy: Policy) -> Plan:
    """--truncate: keep the head of the attached input, as much as the largest usable window takes."""
    from routecli.routing.chunking import BYTES_PER_TOKEN
    from routecli.routing.exclusions import SIZE, only

    usable = [v for v in plan.decision.candidates if only(v.exclusions, SIZE)]
    if not usable:
        return plan
    best = max(usable, key=lambda v: v.context - v.output_reserve)
    room = (best.context - best.output_reserve - TRUNCATE_MARGIN_TOKENS) * BYTES_PER_TOKEN
    request = truncated(plan.request, max(room, 1000))
    decision = _decide(request, policy, plan.prices, plan.state, plan.options)
    cut = Truncation(plan.request.size(), request.size(), best.alias)
    return Plan(request, decision, plan.prices, plan.state, plan.options, None, cut)


def require_model(plan: Plan) -> None:
    """Raise the right one-line error when neither one call nor a map-reduce plan can go ahead."""
    if plan.mapreduce is not None:
        if plan.mapreduce.budget:
            raise BudgetError(plan.mapreduce.budget)
        return
    if plan.decision.chosen is None:
        if plan.options.keep_local:
            raise secret_refusal(plan.options.secrets)
        raise no_model_error(plan.decision)

