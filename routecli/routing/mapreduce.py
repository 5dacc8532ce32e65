"""Planning a summary of an input larger than any context window: map chunks, then reduce.

Pure: from the request's size and the policy, which model summarizes each chunk, how the partial
summaries are combined (recursively while they do not fit one call), and what it all costs, worst
case included. `route explain` shows this plan before anything is spent; `route summarize` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_CEILING, Decimal

from routecli.errors import BudgetError, NoModelError
from routecli.policy.prices import PriceTable, money
from routecli.policy.types import MIN_CHUNK_TOKENS, MapReduceSettings, Policy
from routecli.routing.caps import Cap, attempt_worst, run_cap
from routecli.routing.chunking import Chunk, split
from routecli.routing.classify import Complexity, TaskChoice
from routecli.routing.decide import Decision, RoutingState, considered, decide
from routecli.routing.exclusions import BUDGET, SIZE, Why
from routecli.routing.inputs import Request
from routecli.routing.options import RequestOptions
from routecli.routing.tokens import TokenCount
from routecli.values import frozen

MAP_INSTRUCTION = (
    "Below is part {index} of {total} of a longer document{label}. Summarize this part on its own: keep the "
    "names, numbers, dates and decisions; no preamble.\n\n"
)
REDUCE_INSTRUCTION = (
    "Below are summaries of {total} consecutive parts of one document, in order. Combine them into a single "
    "coherent summary of the whole document{how}. Do not mention the parts.\n\n"
)
PROMPT_OVERHEAD = 200  # tokens for the instruction and labels around each chunk
# What one call within the cap could not take: too large, or too dear. Such a summary goes to map-reduce.
_ONE_CALL_LIMITS = SIZE | BUDGET | {Why.ESCALATION_TIER, Why.PROFILE_CAP}


@frozen
class Level:
    """One reduce level: `calls` calls combine `inputs` partial summaries."""

    inputs: int
    calls: int
    group_size: int


@frozen
class MapReducePlan:
    chunks: tuple[Chunk, ...]
    map_decision: Decision
    reduce_decision: Decision
    levels: tuple[Level, ...]
    settings: MapReduceSettings
    estimated_cost: Decimal | None
    worst_case_cost: Decimal | None  # every call once, each by the dearest model of its chain
    budget: str | None = None  # why a budget refuses this plan (None: within every budget)
    downgraded: str | None = None  # the cheaper map model used to stay within a budget
    tokens_per_byte: float = 1 / 3  # the whole input's count per byte: what the estimate expects a chunk to cost
    cap: Cap | None = None  # what the whole run may spend; the executor stops before crossing it

    def chunk_tokens(self, chunk: Chunk) -> int:
        """The input tokens a chunk's call is bounded by, for the plan's worst case and the run's guard: the
        conservative count chunks are cut by (a byte in three), since each provider bills by its own tokenizer,
        which may count well above cl100k's."""
        return chunk.est_tokens + PROMPT_OVERHEAD

    def combine_tokens(self, inputs: int) -> int:
        return inputs * self.settings.partial_tokens + PROMPT_OVERHEAD

    @property
    def calls(self) -> int:
        return len(self.chunks) + sum(level.calls for level in self.levels)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "map-reduce",
            "chunks": len(self.chunks),
            "chunk_tokens_max": max(c.est_tokens for c in self.chunks),
            "map_model": self.map_decision.chosen,
            "map_chain": list(self.map_decision.chain),
            "reduce_model": self.reduce_decision.chosen,
            "reduce_levels": [{"inputs": lv.inputs, "calls": lv.calls} for lv in self.levels],
            "calls": self.calls,
            "concurrency": self.settings.concurrency,
            "estimated_cost_usd": None if self.estimated_cost is None else float(self.estimated_cost),
            "worst_case_cost_usd": None if self.worst_case_cost is None else float(self.worst_case_cost),
            "budget": self.budget or "within budget",
            "downgraded_to": self.downgraded,
            "cap_usd": None if self.cap is None else float(self.cap.amount),
            "cap": None if self.cap is None else self.cap.name,
        }


def needed(decision: Decision, settings: MapReduceSettings) -> bool:
    """Map-reduce a summary when no single call can take the whole input within the window and the cap (every
    model weighed is excluded, among other reasons, as too large or too dear), or above the policy's size."""
    if decision.task != "summarize":
        return False
    weighed = considered(decision)
    too_large = decision.chosen is None and bool(weighed) and all(
        any(r.kind in _ONE_CALL_LIMITS for r in v.exclusions) for v in weighed
    )
    above = settings.above_tokens is not None and decision.tokens.lower > settings.above_tokens
    return too_large or above


def _decide_for(
    policy: Policy, prices: PriceTable, state: RoutingState, options: RequestOptions, tokens: int, why: str
) -> Decision:
    choice = TaskChoice("summarize", (why,), {}, forced=True)
    return decide(policy, prices, state, options, choice, Complexity(4, (why,)), TokenCount(tokens, tokens, tokens))


def _chunk_budget(policy: Policy, prices: PriceTable, state: RoutingState, options: RequestOptions,
                  settings: MapReduceSettings) -> tuple[int, Decision]:
    """The chunk size: the setting, shrunk until the cheapest capable model takes a chunk that big."""
    size = settings.chunk_tokens
    while size >= MIN_CHUNK_TOKENS:
        decision = _decide_for(policy, prices, state, options, size + PROMPT_OVERHEAD, "map: one chunk")
        if decision.chosen is not None:
            return size, decision
        size //= 2
    raise NoModelError("no model can summarize even a 1,000-token chunk of this input (see `route explain`)")


def plan(
    request: Request,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    settings: MapReduceSettings,
    tokens: TokenCount | None = None,
) -> MapReducePlan:
    """The plan, with `budget` set when the cap refuses it even after trying a cheaper map model.
    `tokens`: the whole input's count, whose tokens per byte size the chunks' costs (else 1 per 3 bytes)."""
    cap = run_cap(policy, options, state.spent_today, state.spent_month)
    size = max(request.size(), 1)
    ratio = tokens.value / size if tokens is not None else 1 / 3
    build = lambda opts, reduce_opts=None: _within_cap(  # noqa: E731
        _plan(request, policy, prices, state, opts, settings, ratio, reduce_opts, cap), cap, prices
    )
    result = build(options)
    if _over_cap(result, cap, policy, state, options) is None:
        return result
    cheapest = result
    if policy.budgets.on_exceed == "downgrade" and not options.pinned:
        for alias in _cheaper_map_models(result, policy, prices):
            try:
                cheaper = replace(build(options.but(pinned=alias), options), downgraded=alias)
            except (NoModelError, BudgetError):
                continue
            if _over_cap(cheaper, cap, policy, state, options) is None:
                return cheaper
            if (cheaper.worst_case_cost or 0) < (cheapest.worst_case_cost or 0):
                cheapest = cheaper  # refused, the cheapest plan tried is the one to show
    return replace(cheapest, budget=_over_cap(cheapest, cap, policy, state, options))


def _cheaper_map_models(result: MapReducePlan, policy: Policy, prices: PriceTable) -> list[str]:
    """Models of the summarize task (any tier), cheapest first, cheaper than the current map model."""
    task = policy.tasks["summarize"]
    current = prices.get(result.map_decision.chosen or "")
    options = []
    for alias in dict.fromkeys((*task.candidates, *task.fallbacks)):
        price = prices.get(alias)
        if price is not None and (current is None or price.cost(10_000, 600) < current.cost(10_000, 600)):
            options.append((price.cost(10_000, 600), alias))
    return [alias for _, alias in sorted(options)]


def _plan(
    request: Request,
    policy: Policy,
    prices: PriceTable,
    state: RoutingState,
    options: RequestOptions,
    settings: MapReduceSettings,
    ratio: float,
    reduce_options: RequestOptions | None,
    cap: Cap | None,
) -> MapReducePlan:
    map_options = options.but(max_tokens=settings.partial_tokens)
    size, map_decision = _chunk_budget(policy, prices, state, map_options, settings)
    chunks = tuple(
        chunk for index, attachment in enumerate(request.attachments) for chunk in split(attachment.data, size, index)
    )
    if not chunks:
        instruction = request.instruction.encode("utf-8")
        chunks = tuple(split(instruction, size, -1))
    levels: list[Level] = []
    inputs = len(chunks)
    group = max(2, size // settings.partial_tokens)
    while inputs > group:  # combine in groups until one call can take them all
        calls = -(-inputs // group)
        levels.append(Level(inputs, calls, group))
        inputs = calls
    levels.append(Level(inputs, 1, inputs))
    reduce_tokens = levels[-1].inputs * settings.partial_tokens + PROMPT_OVERHEAD
    final_options = reduce_options or options
    reduce_decision = _decide_for(policy, prices, state, final_options, reduce_tokens, "reduce: combine the parts")
    if reduce_decision.chosen is None:
        raise NoModelError("no model can combine the partial summaries (see `route explain`)")
    unpriced = MapReducePlan(
        chunks, map_decision, reduce_decision, tuple(levels), settings, None, None,
        tokens_per_byte=ratio, cap=cap,
    )
    worst = worst_case(unpriced, prices, _chain_reserve(unpriced))
    return replace(unpriced, estimated_cost=_estimate(unpriced, prices, policy), worst_case_cost=worst)


Reserve = Callable[[str, bool], int]  # (alias, final call?) -> its output reserve


def _steps(mr: MapReducePlan) -> list[tuple[Decision, int, bool]]:
    """Every call the plan makes, once: (its decision, its input tokens bound, the final call?)."""
    steps = [(mr.map_decision, mr.chunk_tokens(chunk), False) for chunk in mr.chunks]
    for level in mr.levels:
        last = level is mr.levels[-1]
        for _ in range(level.calls):
            tokens_in = mr.combine_tokens(min(level.group_size, level.inputs))
            steps.append((mr.reduce_decision if last else mr.map_decision, tokens_in, last))
    return steps


def worst_case(mr: MapReducePlan, prices: PriceTable, reserve: Reserve) -> Decimal | None:
    """Each call at the dearest model of its chain with its whole output reserve (caps.attempt_worst, as the
    run's guard reckons each attempt), so no sequence of fallbacks can make a call dearer than counted here;
    a retry after a failure that billed nothing adds nothing. None when a model of a chain is unpriced."""
    total = Decimal(0)
    for decision, tokens_in, final in _steps(mr):
        worsts = [attempt_worst(prices.get(alias), tokens_in, reserve(alias, final)) for alias in decision.chain]
        if not worsts or any(w is None for w in worsts):
            return None
        total += max(w for w in worsts if w is not None)
    return total


def _estimate(mr: MapReducePlan, prices: PriceTable, policy: Policy) -> Decimal | None:
    """The expected cost: the chosen models, the estimated tokens, half the partial reserve, the task's output."""
    map_price = prices.get(mr.map_decision.chosen or "")
    reduce_price = prices.get(mr.reduce_decision.chosen or "")
    if map_price is None or reduce_price is None:
        return None
    partial = mr.settings.partial_tokens
    final_out = policy.tasks["summarize"].expected_output
    total = Decimal(0)
    for chunk in mr.chunks:
        total += map_price.cost(int(chunk.size * mr.tokens_per_byte) + 1 + PROMPT_OVERHEAD, partial // 2)
    for _, tokens_in, final in _steps(mr)[len(mr.chunks) :]:
        total += (reduce_price if final else map_price).cost(tokens_in, final_out if final else partial // 2)
    return total


def _within_cap(mr: MapReducePlan, cap: Cap | None, prices: PriceTable) -> MapReducePlan:
    """Drop the dearest fallbacks of the map and reduce chains while the worst case crosses the cap, so a
    failing chunk falls back only to a model the run can still pay for."""
    if cap is None or mr.worst_case_cost is None or mr.worst_case_cost <= cap.amount:
        return mr

    def dearest_fallback(decision: Decision) -> str | None:
        priced = [(price.cost(10_000, 600), alias) for alias in decision.chain[1:] if (price := prices.get(alias))]
        return max(priced)[1] if priced else None

    reserve = _chain_reserve(mr)
    while mr.worst_case_cost is not None and mr.worst_case_cost > cap.amount:
        for stage in ("map_decision", "reduce_decision"):
            decision: Decision = getattr(mr, stage)
            drop = dearest_fallback(decision)
            if drop is not None:
                trimmed = replace(decision, chain=tuple(a for a in decision.chain if a != drop))
                mr = replace(mr, **{stage: trimmed})
                break
        else:
            return mr
        mr = replace(mr, worst_case_cost=worst_case(mr, prices, reserve))
    return mr


def _chain_reserve(mr: MapReducePlan) -> Reserve:
    """The output reserves the decisions already worked out, per model (map calls: the partial summary's)."""

    def reserve(alias: str, final: bool) -> int:
        decision = mr.reduce_decision if final else mr.map_decision
        return decision.verdict(alias).output_reserve

    return reserve


def _over_cap(
    result: MapReducePlan, cap: Cap | None, policy: Policy, state: RoutingState, options: RequestOptions
) -> str | None:
    """Why the cap refuses the whole plan (it covers all its calls, not each one), with what would allow it."""
    worst = result.worst_case_cost
    if worst is None or cap is None or worst <= cap.amount:
        return None
    need = (worst * 100).to_integral_value(rounding=ROUND_CEILING) / 100
    allow = []
    alternatives = [(f"`--max-cost {need:.2f}`", options.but(request_budget=need))]
    if "best" in policy.profiles:
        alternatives.append(("`-p best`", options.but(profile="best")))
    for flag, changed in alternatives:
        other = run_cap(policy, changed, state.spent_today, state.spent_month)
        if other is None or other.amount >= worst:
            allow.append(flag)
    hint = f"; to allow it: {' or '.join(allow)}" if allow else "; no option allows it within the policy's budgets"
    return (
        f"refused before any call: summarizing this input takes {result.calls} calls, estimated "
        f"{money(result.estimated_cost)}, worst case {money(worst)}, over {cap.describe()}{hint}"
    )


def map_prompt(request: Request, chunk: Chunk, index: int, total: int) -> str:
    label = ""
    if 0 <= chunk.source < len(request.attachments) and len(request.attachments) > 1:
        label = f" ({request.attachments[chunk.source].name})"
    data = request.attachments[chunk.source].data if chunk.source >= 0 else request.instruction.encode()
    body = bytes(data[chunk.start : chunk.end]).decode("utf-8", errors="replace")
    return MAP_INSTRUCTION.format(index=index, total=total, label=label) + body


def reduce_prompt(request: Request, partials: list[str], final: bool) -> str:
    how = request.instruction.strip()
    how = how.removeprefix("Summarize the following.").strip()
    how_text = f" ({how})" if how and final else ""
    parts = "\n\n".join(f"[Part {i} of {len(partials)}]\n{text.strip()}" for i, text in enumerate(partials, 1))
    return REDUCE_INSTRUCTION.format(total=len(partials), how=how_text) + parts
