"""Advice on a task's `min_tier` that follows from the numbers: replay the recorded decisions, no call made.

For each task, the recorded requests are decided again (routing/decide.py, pure) under the policy as it is and
with the task's min_tier one lower. Only where that changes which model is chosen, and the model that would
take the requests has earned it as a first choice (enough calls, a high success rate), is a change advised,
with the numbers behind it. A model that only ran as a fallback, or failed half its calls, earns no advice.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from routecli.errors import RouteError
from routecli.ledger.decisions import DecisionHistory, RecordedRequest
from routecli.policy.environment import read_environment
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.routing.classify import Complexity, TaskChoice
from routecli.routing.decide import RoutingState, decide
from routecli.routing.options import RequestOptions
from routecli.routing.tokens import TokenCount
from routecli.values import frozen

MIN_FIRST_CHOICE_CALLS = 20  # calls as the chosen model before its record says anything
MIN_SUCCESS_RATE = 0.95  # of those calls, the share that must have succeeded
REPLAY_LIMIT = 500  # the most recent requests per task decided again (two decisions each, ~0.1 ms apiece)


@frozen
class TierAdvice:
    task: str
    min_tier: int  # the task's min_tier now
    lower_to: int
    alias: str  # the model that would take the requests that change
    replayed: int  # the task's recorded requests decided again
    changed: int  # of those, how many would go to `alias` instead
    calls: int  # `alias`'s calls as first choice
    success_rate: float
    p50_s: float | None  # its median total time on success

    @property
    def text(self) -> str:
        p50 = f", p50 {self.p50_s:.1f}s" if self.p50_s is not None else ""
        return (
            f"for {self.task}, min_tier {self.lower_to} (now {self.min_tier}) would have sent {self.changed} of "
            f"{self.replayed} recorded requests to {self.alias} instead; as first choice it made {self.calls} "
            f"calls, {self.success_rate:.0%} ok{p50}: consider `tasks: {{{self.task}: {{min_tier: {self.lower_to}}}}}`"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "min_tier": self.min_tier,
            "suggested_min_tier": self.lower_to,
            "alias": self.alias,
            "requests_replayed": self.replayed,
            "requests_changed": self.changed,
            "first_choice_calls": self.calls,
            "first_choice_success_rate": round(self.success_rate, 4),
            "first_choice_total_p50_s": self.p50_s,
        }


def replay_state(policy: Policy, history: DecisionHistory) -> RoutingState:
    """The providers that can be chosen: those with a key (or a local server switched on) now, and those the
    ledger shows were called. No cooldowns and no spend: the replay asks what the policy decides."""
    environment = read_environment(policy)
    seen = history.providers
    return RoutingState(
        keys_present={name: environment.has_key(name) or name in seen for name in policy.providers},
        local_enabled=environment.local_enabled | {n for n, p in policy.providers.items() if p.local and n in seen},
        now=time.time(),
    )


def _chosen(policy: Policy, prices: PriceTable, state: RoutingState, request: RecordedRequest) -> str | None:
    try:
        decision = decide(
            policy,
            prices,
            state,
            RequestOptions(profile=request.profile if request.profile in policy.profiles else None),
            TaskChoice(request.task, (), {}),
            Complexity(request.complexity, ()),
            TokenCount(request.tokens, request.tokens, request.tokens),
        )
    except RouteError:
        return None
    return decision.chosen


def tier_advice(
    policy: Policy, prices: PriceTable, state: RoutingState, history: DecisionHistory
) -> list[TierAdvice]:
    advice = []
    for name, task in policy.tasks.items():
        requests = [r for r in history.requests if r.task == name][-REPLAY_LIMIT:]  # oldest first
        if task.min_tier <= 1 or not requests:
            continue
        lowered = replace(policy, tasks={**policy.tasks, name: replace(task, min_tier=task.min_tier - 1)})
        moved: Counter[str] = Counter()
        for request in requests:
            before, after = _chosen(policy, prices, state, request), _chosen(lowered, prices, state, request)
            if after is not None and after != before:
                moved[after] += 1
        for alias, changed in moved.most_common():
            record = history.first_choice.get(alias)
            if record is None or record.calls < MIN_FIRST_CHOICE_CALLS or record.success_rate < MIN_SUCCESS_RATE:
                continue
            p50 = round(statistics.median(record.total_s), 2) if record.total_s else None
            advice.append(
                TierAdvice(name, task.min_tier, task.min_tier - 1, alias, len(requests), changed, record.calls,
                           record.success_rate, p50)
            )
    return advice
