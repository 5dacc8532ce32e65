"""`route eval`: the router's decisions over a labelled set of prompts, scored. Pure: no call, no disk.

Every prompt goes through the same path as `route explain` (`plan.decide_request`) in a neutral world: no
cooldowns, nothing spent, no local server, every provider's key assumed present (unless the caller hands in the
real keys), so the figures are the same on every machine and every day.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import field
from decimal import Decimal
from typing import Any

from routecli.errors import UsageError
from routecli.policy.prices import PriceTable
from routecli.policy.types import TASKS, Policy
from routecli.routing.decide import RoutingState, output_reserve
from routecli.routing.inputs import Request
from routecli.routing.options import RequestOptions
from routecli.routing.plan import decide_request
from routecli.routing.thresholds import thresholds
from routecli.routing.tokens import TokenCount
from routecli.values import frozen

SIZE_LOWER_BYTES = 6  # a `size` in bytes stands for about size/4 tokens (bounds: size/6 .. size)


@frozen
class LabelledPrompt:
    prompt: str
    task: str  # the expected task
    line: int  # where it is in its file
    acceptable_models: tuple[str, ...] | None = None
    min_tier: int | None = None
    tokens: int | None = None  # the prompt stands for an input of this many tokens
    size: int | None = None  # ... or of this many bytes


@frozen
class TaskScore:
    task: str
    count: int  # prompts labelled with this task
    correct: int  # of those, routed to it
    predicted: int  # prompts routed to this task, whatever their label

    @property
    def accuracy(self) -> float:
        """The share of this task's prompts routed to it (its recall)."""
        return self.correct / self.count if self.count else 0.0

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None


@frozen
class Rate:
    checked: int = 0
    met: int = 0

    @property
    def rate(self) -> float | None:
        return self.met / self.checked if self.checked else None


@frozen
class Miss:
    line: int
    expected: str
    got: str
    prompt: str


@frozen
class EvalReport:
    total: int
    correct: int
    tasks: tuple[TaskScore, ...]
    confusion: dict[tuple[str, str], int]  # (expected, routed) -> prompts
    labels: tuple[str, ...]  # the tasks the matrix shows, in the policy's order
    models: Rate  # routed to one of the entry's acceptable_models
    tiers: Rate  # routed to a model of at least the entry's min_tier
    routed_cost: Decimal
    unrouted: int  # no eligible model in the neutral world
    unpriced: int
    output_tokens: dict[str, int]  # the output length each task's cost assumes (its expected_output)
    chosen: dict[str, int]  # model alias -> prompts routed to it
    vs: str | None = None
    vs_cost: Decimal | None = None
    misses: tuple[Miss, ...] = field(default=())
    real_keys: bool = False

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def score(self, task: str) -> TaskScore | None:
        return next((t for t in self.tasks if t.task == task), None)

    def as_dict(self) -> dict[str, Any]:
        def rate(r: Rate) -> dict[str, Any]:
            return {"checked": r.checked, "met": r.met, "rate": r.rate}

        saving = None
        if self.vs_cost is not None:
            saving = {"model": self.vs, "cost_usd": float(self.vs_cost),
                      "saved_usd": float(self.vs_cost - self.routed_cost),
                      "fraction": float((self.vs_cost - self.routed_cost) / self.vs_cost) if self.vs_cost else None}
        return {
            "prompts": self.total,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "tasks": {t.task: {"count": t.count, "correct": t.correct, "accuracy": t.accuracy, "recall": t.accuracy,
                               "precision": t.precision, "predicted": t.predicted} for t in self.tasks},
            "confusion": {e: {g: self.confusion.get((e, g), 0) for g in self.labels} for e in self.labels},
            "acceptable_models": rate(self.models),
            "min_tier": rate(self.tiers),
            "cost": {"routed_usd": float(self.routed_cost), "unrouted": self.unrouted, "unpriced": self.unpriced,
                     "output_tokens_assumed": self.output_tokens, "vs": saving},
            "models": self.chosen,
            "world": {"keys": "real" if self.real_keys else "all assumed present", "cooldowns": None,
                      "spent": 0, "local_servers": None},
            "misses": [{"line": m.line, "expected": m.expected, "got": m.got, "prompt": m.prompt}
                       for m in self.misses],
        }


def neutral_state(policy: Policy, keys: dict[str, bool] | None = None) -> RoutingState:
    """No cooldowns, nothing spent, no local server; every key present unless the real ones are given."""
    return RoutingState(keys_present=keys if keys is not None else {name: True for name in policy.providers})


def _tokens(item: LabelledPrompt) -> TokenCount | None:
    if item.tokens is not None:
        return TokenCount(item.tokens, item.tokens, item.tokens)
    if item.size is not None:
        return TokenCount(max(1, item.size // SIZE_LOWER_BYTES), item.size)
    return None


def evaluate(
    items: list[LabelledPrompt],
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    vs: str | None = None,
    real_keys: bool = False,
) -> EvalReport:
    """Route every prompt (no call) and score the routed task, model and tier against the labels."""
    vs_model = policy.model(vs) if vs else None  # an unknown alias: a usage error
    for item in items:
        for alias in item.acceptable_models or ():
            if alias not in policy.models:
                raise UsageError(f"line {item.line}: unknown model '{alias}' in acceptable_models")
    confusion: Counter[tuple[str, str]] = Counter()
    chosen: Counter[str] = Counter()
    models, tiers = [0, 0], [0, 0]
    routed, baseline = Decimal(0), Decimal(0)
    unrouted = unpriced = 0
    misses = []
    vs_price = prices.get(vs) if vs else None
    points = thresholds(policy, prices, options)  # the same for every prompt: computed once
    for item in items:
        decision = decide_request(Request(item.prompt), policy, prices, state, options, _tokens(item), points)
        confusion[(item.task, decision.task)] += 1
        if decision.task != item.task:
            misses.append(Miss(item.line, item.task, decision.task, " ".join(item.prompt.split())[:70]))
        pick = decision.verdict(decision.chosen) if decision.chosen else None
        if item.acceptable_models is not None:
            models[0] += 1
            models[1] += pick is not None and pick.alias in item.acceptable_models
        if item.min_tier is not None:
            tiers[0] += 1
            tiers[1] += pick is not None and pick.tier >= item.min_tier
        if pick is None:
            unrouted += 1
            continue
        chosen[pick.alias] += 1
        if pick.estimated_cost is None:
            unpriced += 1
        else:
            routed += pick.estimated_cost
        if vs_model is not None and vs_price is not None:
            expected = policy.tasks[decision.task].expected_output
            reserve = output_reserve(vs_model, policy, options)
            baseline += vs_price.cost(decision.tokens.value, min(expected, reserve))
    labels = tuple(t for t in TASKS if any(t in pair for pair in confusion))
    scores = tuple(
        TaskScore(t, sum(n for (e, _), n in confusion.items() if e == t), confusion.get((t, t), 0),
                  sum(n for (_, g), n in confusion.items() if g == t))
        for t in labels
    )
    return EvalReport(
        total=len(items),
        correct=sum(confusion.get((t, t), 0) for t in labels),
        tasks=tuple(s for s in scores if s.count),
        confusion=dict(confusion),
        labels=labels,
        models=Rate(*models),
        tiers=Rate(*tiers),
        routed_cost=routed,
        unrouted=unrouted,
        unpriced=unpriced,
        output_tokens={name: task.expected_output for name, task in policy.tasks.items()},
        chosen=dict(chosen.most_common()),
        vs=vs,
        vs_cost=baseline if vs_price is not None else None,
        misses=tuple(misses),
        real_keys=real_keys,
    )


@frozen
class Floors:
    overall: float | None = None
    every_task: float | None = None
    per_task: dict[str, float] = field(default_factory=dict)


def below_floors(report: EvalReport, floors: Floors) -> list[str]:
    """Each floor the report falls below, as words for the one error line (empty: all met)."""
    failed = []
    if floors.overall is not None and report.accuracy < floors.overall:
        failed.append(f"accuracy {report.accuracy:.3f} < {floors.overall:g}")
    for score in report.tasks:
        floor = floors.per_task.get(score.task, floors.every_task)
        if floor is not None and score.accuracy < floor:
            failed.append(f"{score.task} {score.accuracy:.3f} < {floor:g}")
    for task in floors.per_task:
        if report.score(task) is None:
            failed.append(f"{task}: no prompts labelled with it")
    return failed
