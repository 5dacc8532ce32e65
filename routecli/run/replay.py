"""`route replay`: the recorded requests re-decided under another policy (or the current one), no model called.

Each request's decision is rebuilt from what was recorded with it (ledger/facts.py): the token count, complexity
and flags the decision used, and the task; a prompt stored with --log-prompts is classified again from its text,
so a policy's new rules count. The decision is the same pure one `route explain` makes (`plan.decide_request`),
in a neutral world (every key present, no cooldowns, nothing spent; a local server only if the request used it).
The cost under the new policy prices the recorded real usage of the request's successful attempt at the new
model's rates, against what that attempt cost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from routecli.errors import RouteError
from routecli.ledger.recorded import FACTS_VERSION, RecordedRequest
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.routing.decide import Decision, RoutingState
from routecli.routing.inputs import Request
from routecli.routing.options import RequestOptions
from routecli.routing.plan import decide_request
from routecli.routing.tokens import TokenCount

FACTS, TEXT, APPROXIMATE = "facts", "text", "approximate"  # what a replayed decision was rebuilt from


@dataclass
class Tally:
    requests: int = 0
    different: int = 0
    priced: int = 0  # requests whose cost is compared (a successful attempt, priced both ways)
    recorded: Decimal = Decimal(0)
    replayed: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "different": self.different, "priced": self.priced,
                "recorded_usd": float(self.recorded), "replayed_usd": float(self.replayed),
                "difference_usd": float(self.replayed - self.recorded)}


@dataclass
class ReplayReport:
    policy_hash: str
    recorded: int = 0  # requests found in the range
    total: Tally = field(default_factory=Tally)
    by_task: dict[str, Tally] = field(default_factory=dict)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)  # (recorded choice, new choice) -> requests
    basis: Counter[str] = field(default_factory=Counter)  # FACTS / TEXT / APPROXIMATE -> requests
    skipped: Counter[str] = field(default_factory=Counter)  # why a request was not replayed -> requests
    same_policy: int = 0  # recorded under exactly this policy
    no_usage: int = 0  # no successful attempt: nothing to price
    unpriced: int = 0
    facts_version: int = FACTS_VERSION
    notice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy_hash": self.policy_hash,
            "recorded_requests": self.recorded,
            "replayed": self.total.requests,
            "different": self.total.different,
            "moves": [{"from": a, "to": b, "requests": n} for (a, b), n in self.moves.most_common()],
            "total": self.total.as_dict(),
            "by_task": {task: tally.as_dict() for task, tally in sorted(self.by_task.items())},
            "rebuilt_from": dict(self.basis),
            "not_replayed": dict(self.skipped),
            "recorded_under_this_policy": self.same_policy,
            "no_successful_attempt": self.no_usage,
            "unpriced": self.unpriced,
            "facts_since_schema": self.facts_version,
            "notice": self.notice,
        }


def _decision_input(
    request: RecordedRequest, policy: Policy
) -> tuple[Request, RequestOptions, TokenCount | None, str] | str:
    """What to decide from, and on what basis; or why the request cannot be replayed."""
    facts = request.facts
    if facts is not None:
        flags = facts.flags
        text = request.prompt
        max_cost = flags.get("max_cost")
        options = RequestOptions(
            task=flags.get("task") or (None if text else request.task),
            complexity=flags.get("complexity") or (None if text else facts.complexity),
            pinned=flags.get("model"),
            profile=flags.get("profile"),
            local_only=bool(flags.get("local")),
            interactive=bool(flags.get("interactive")),
            max_tokens=flags.get("max_tokens"),
            request_budget=None if max_cost is None else Decimal(str(max_cost)),
            truncate=bool(flags.get("truncate")),
        )
        exact = TokenCount(facts.tokens, facts.tokens, facts.tokens)
        return Request(text or ""), options, exact, TEXT if text else FACTS
    if request.prompt:
        return Request(request.prompt), RequestOptions(), None, TEXT
    if request.task and request.input_tokens:
        # Before the facts were recorded: the task and the reported input tokens, at the policy's base complexity.
        tokens = TokenCount(request.input_tokens, request.input_tokens, request.input_tokens)
        return Request(""), RequestOptions(task=request.task, complexity=policy.complexity.base), tokens, APPROXIMATE
    return f"recorded before v{FACTS_VERSION}, without task and tokens"


def _state(policy: Policy, request: RecordedRequest) -> RoutingState:
    provider = policy.providers.get(request.provider)
    local = frozenset({provider.name}) if provider is not None and provider.local else frozenset()
    return RoutingState(keys_present={name: True for name in policy.providers}, local_enabled=local)


def replay(requests: list[RecordedRequest], policy: Policy, prices: PriceTable, policy_hash: str) -> ReplayReport:
    report = ReplayReport(policy_hash, recorded=len(requests))
    for request in requests:
        if request.map_reduce:
            report.skipped["map-reduce summary (replay re-decides single calls)"] += 1
            continue
        built = _decision_input(request, policy)
        if isinstance(built, str):
            report.skipped[built] += 1
            continue
        prompt, options, tokens, basis = built
        try:
            decision = decide_request(prompt, policy, prices, _state(policy, request), options, tokens)
        except RouteError as error:  # e.g. a pinned model or a forced task the new policy no longer has
            report.skipped[f"cannot be decided under this policy ({error.message})"] += 1
            continue
        report.basis[basis] += 1
        if request.facts is not None and request.facts.policy_hash == policy_hash:
            report.same_policy += 1
        _count(report, request, decision, prices, policy)
    return report


def _count(report: ReplayReport, request: RecordedRequest, decision: Decision, prices: PriceTable,
           policy: Policy) -> None:
    new = decision.chosen or "(no model)"
    task = request.task or decision.task
    tallies = (report.total, report.by_task.setdefault(task, Tally()))
    different = new != request.alias
    report.moves[(request.alias, new)] += different
    if not different:
        del report.moves[(request.alias, new)]
    for tally in tallies:
        tally.requests += 1
        tally.different += different
    final = request.final
    if final is None:
        report.no_usage += 1
        return
    price = prices.get(decision.chosen) if decision.chosen else None
    if final.cost is None or price is None:
        report.unpriced += 1
        return
    model = policy.models[decision.chosen] if decision.chosen else None
    same_provider = model is not None and model.provider == final.provider  # a cache is the provider's own
    cost = price.cost(final.input_tokens, final.output_tokens, final.cached_input_tokens if same_provider else 0,
                      final.cache_write_tokens if same_provider else 0)
    for tally in tallies:
        tally.priced += 1
        tally.recorded += final.cost
        tally.replayed += cost
