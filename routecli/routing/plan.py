"""From a Request to a Plan: the steps `explain`, `ask` and `summarize` share.

Pure: the caller reads the world once (prices, keys, cooldowns, spend: `run/state.py`) and hands it in. Tokens
are counted from the bytes, with the tokenizer loaded only when a threshold depends on the exact count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from routecli.errors import BudgetError, NoModelError
from routecli.policy.fingerprint import policy_hash
from routecli.policy.keyshapes import held_for_masking, mask_held
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.routing.caps import attempt_worst, run_cap
from routecli.routing.classify import classify, estimate_complexity, read_prompt
from routecli.routing.consult import wanted
from routecli.routing.decide import Decision, RoutingState, Verdict, decide, no_model_error
from routecli.routing.inputs import Request, truncated
from routecli.routing.options import RequestOptions
from routecli.routing.refusal import secret_refusal
from routecli.routing.secrets import MIN_KNOWN_KEY, scan
from routecli.routing.thresholds import thresholds
from routecli.routing.tokens import TokenCount, count
from routecli.values import frozen

if TYPE_CHECKING:
    from routecli.routing.consult import Consult, ModelAnswer
    from routecli.routing.continuity import Continuity, FollowUp
    from routecli.routing.mapreduce import MapReducePlan
    from routecli.routing.review import ReviewPlan

TRUNCATE_MARGIN_TOKENS = 500


@frozen
class Truncation:
    original_bytes: int
    kept_bytes: int
    to_fit: str  # the model whose window the input was cut to


@frozen
class Plan:
    request: Request  # as it will be sent (--truncate may have cut it)
    decision: Decision
    prices: PriceTable
    state: RoutingState
    options: RequestOptions
    mapreduce: MapReducePlan | None = None
    truncation: Truncation | None = None
    review: ReviewPlan | None = None  # a reviewer reads the reply of a task with `review:` (single calls only)
    consult: Consult | None = None  # the model classifier, consulted or to be consulted

    @property
    def worst_case_cost(self) -> Decimal | None:
        """The worst case of every call this plan makes: the answer (or the map-reduce plan) and its review."""
        if self.mapreduce is not None:
            return self.mapreduce.worst_case_cost
        chain = [self.decision.verdict(alias).worst_case_cost for alias in self.decision.chain]
        # any model of the chain may end up answering (fallbacks): the dearest one bounds the answer
        answer = None if not chain or any(w is None for w in chain) else max(w for w in chain if w is not None)
        made = self.review is not None and self.review.over_budget is None  # a review not made costs nothing
        review = self.review.worst_case_cost if made and self.review is not None else Decimal(0)
        return None if answer is None or review is None else answer + review
    policy_hash: str = ""  # which policy decided (policy/fingerprint.py), recorded for `route replay`
    continuity: Continuity | None = None  # a follow-up: whether it stays on the previous turn's model
    # The keys route holds, masked in the prompt and reply before the history or the ledger keeps them.
    held_keys: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def at_rest(self, text: str) -> str:
        """`text` as it may be written to disk: no key route holds in it (`--allow-secrets` sent it whole)."""
        return mask_held(text, self.held_keys)


def make_plan(
    request: Request,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    allow_map_reduce: bool = True,
    answer: ModelAnswer | None = None,
    follow: FollowUp | None = None,
    known_keys: Mapping[str, str] | None = None,
) -> Plan:
    """`answer`: the model classifier's; `follow`: a continued conversation's last turn (its model stays while it
    may; a short follow-up keeps its task); `known_keys`: environment variable -> the key route holds (found
    verbatim in a prompt, it is a secret)."""
    options = options.but(secrets=scan(request, policy.privacy.local_only, known_keys))
    decision, consult = _decide(request, policy, prices, state, options, answer, follow=follow)
    previous = follow.model if follow else None
    decision, continuity = _continue_on(decision, previous, pinned=options.pinned is not None)
    mapreduce = None
    if allow_map_reduce and decision.task == "summarize":
        from routecli.routing import mapreduce as mr

        if mr.needed(decision, policy.map_reduce):
            try:
                mapreduce = mr.plan(request, policy, prices, state, options, policy.map_reduce, decision.tokens)
            except NoModelError:
                if options.keep_local:  # no local model for the chunks: the secret is why, and says the way out
                    raise secret_refusal(options.secrets) from None
                raise
    plan = Plan(
        request, decision, prices, state, options, mapreduce, consult=consult, policy_hash=policy_hash(policy),
        continuity=continuity, held_keys=held_for_masking((known_keys or {}).values(), MIN_KNOWN_KEY),
    )
    if decision.chosen is None and mapreduce is None and options.truncate:
        plan = _truncated(plan, policy, answer, follow)
    if plan.mapreduce is None:
        from routecli.routing.review import plan_review

        plan = replace(plan, review=plan_review(policy, prices, state, options, plan.decision))
    return plan


def decide_request(
    request: Request,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    tokens: TokenCount | None = None,
    points: list[float] | None = None,
) -> Decision:
    """One call's decision (no map-reduce, no --truncate, no model classifier): `route eval` and `route replay` use
    it as it is, with `tokens` given when the prompt stands for a larger input or was counted when it was recorded,
    and `points` (the thresholds) computed once for a whole set of prompts."""
    return _decide(request, policy, prices, state, options, None, tokens, points)[0]


def _decide(
    request: Request,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    answer: ModelAnswer | None,
    tokens: TokenCount | None = None,
    points: list[float] | None = None,
    follow: FollowUp | None = None,
) -> tuple[Decision, Consult | None]:
    if tokens is None:
        parts = request.parts()
        for turn in reversed(request.history):  # a continued conversation is sent, and counted, whole
            parts = [turn.text.encode("utf-8", errors="surrogatepass"), b"\n\n", *parts]
        if request.system:
            parts = [request.system.encode("utf-8", errors="surrogatepass"), b"\n\n", *parts]
        if points is None:
            points = thresholds(policy, prices, options)
        tokens = count(parts, points, force_exact=options.exact_tokens)
        del parts
    head = request.attached_head
    forced = options.task is not None and options.complexity is not None  # replay: nothing to read
    reading = None if forced else read_prompt(request.instruction, head)  # the learned model, once for both
    task_choice = classify(policy, request.instruction, head, tokens.value, options.task, reading)
    consult = None if reading is None else wanted(policy, reading.confidence, task_choice.model_decides)
    if consult is not None and answer is not None and answer.task in policy.tasks:  # only when unsure
        consult = replace(consult, answer=answer)
        task_choice = classify(policy, request.instruction, head, tokens.value, options.task, reading, answer)
    confidence = None if reading is None else reading.confidence
    if follow is not None:  # a follow-up (continuity is imported only for conversations)
        from routecli.routing.continuity import inherit_task

        task_choice = inherit_task(task_choice, follow, request.instruction, confidence, policy)
    level = estimate_complexity(policy, request.instruction, head, tokens.value, options.complexity, reading)
    return decide(policy, prices, state, options, task_choice, level, tokens), consult


def _truncated(plan: Plan, policy: Policy, answer: ModelAnswer | None, follow: FollowUp | None = None) -> Plan:
    """--truncate: keep the head of the attached input, as much as the largest usable window takes: the most
    tokens any model that only the input's size keeps out (its window, an escalation rule, the cap) could take,
    less what a continued conversation's earlier turns take of it."""
    from routecli.routing.exclusions import BUDGET, SIZE, Why, only

    fixable = SIZE | BUDGET | {Why.ESCALATION_TIER, Why.PROFILE_CAP}
    rooms = [(_room(v, policy, plan), v.alias) for v in plan.decision.candidates if only(v.exclusions, fixable)]
    rooms = [(room, alias) for room, alias in rooms if room > 0]
    if not rooms:
        return plan
    room, alias = max(rooms)
    history = sum(len(turn.text.encode("utf-8", errors="surrogatepass")) for turn in plan.request.history)
    per_byte = plan.decision.tokens.value / max(plan.request.size() + history, 1)
    room -= int(history * per_byte)
    for _ in range(_TRUNCATE_TRIES):  # the cut is sized by an estimate: shrink it until a model takes it
        request = truncated(plan.request, max(int(room / per_byte), 1000))
        decision, consult = _decide(request, policy, plan.prices, plan.state, plan.options, answer, follow=follow)
        previous = follow.model if follow else None
        decision, continuity = _continue_on(decision, previous, pinned=plan.options.pinned is not None)
        if decision.chosen is not None:
            break
        room = int(room * 0.9)
    cut = Truncation(plan.request.size(), request.size(), alias)
    return Plan(
        request, decision, plan.prices, plan.state, plan.options, None, cut,
        consult=consult, policy_hash=plan.policy_hash, continuity=continuity,
    )


_TRUNCATE_TRIES = 6


def _room(verdict: Verdict, policy: Policy, plan: Plan) -> int:
    """The most prompt tokens this model may take: its window less the output reserve, the escalation rules it
    fails, and what its worst case may cost within the run's cap."""
    model = policy.models[verdict.alias]
    room = verdict.context - verdict.output_reserve - TRUNCATE_MARGIN_TOKENS
    for level in policy.escalation:
        weak = level.min_tier is not None and model.tier < level.min_tier and verdict.role != "pinned"
        if model.context < level.min_context or weak:
            room = min(room, level.above_tokens)
    cap = run_cap(policy, plan.options if verdict.role != "pinned" else plan.options.but(pinned=verdict.alias),
                  plan.state.spent_today, plan.state.spent_month)
    price = plan.prices.get(verdict.alias)
    if cap is not None and price is not None:
        low, high = 0, max(room, 0)  # the most tokens whose worst case fits (prices may rise in tiers with size)
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if attempt_worst(price, middle, verdict.output_reserve) <= cap.amount else (
                low, middle - 1)
        room = low
    return room


def single_call_worst(plan: Plan, policy: Policy) -> dict[str, object]:
    """A one-call plan's money for `explain`: the dearest model of the chain at its worst case (as the executor's
    guard reckons each attempt), and the cap the whole run, retries and fallbacks included, stops before."""
    worsts = [plan.decision.verdict(alias).worst_case_cost for alias in plan.decision.chain]
    known = [w for w in worsts if w is not None]
    cap = run_cap(policy, plan.options, plan.state.spent_today, plan.state.spent_month)
    return {
        "kind": "single",
        "calls": 1,
        "worst_case_cost_usd": float(max(known)) if known and len(known) == len(worsts) else None,
        "cap_usd": None if cap is None else float(cap.amount),
        "cap": None if cap is None else cap.name,
    }


def _continue_on(decision: Decision, previous: str | None, pinned: bool) -> tuple[Decision, Continuity | None]:
    if previous is None:
        return decision, None
    from routecli.routing.continuity import continue_on

    return continue_on(decision, previous, pinned)


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

