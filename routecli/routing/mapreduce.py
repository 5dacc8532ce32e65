"""Planning a summary of an input larger than any context window: map chunks, then reduce.

Pure: from the request's size and the policy, which model summarizes each chunk, how the partial
summaries are combined (recursively while they do not fit one call), and what it all costs, worst
case included. `route explain` shows this plan before anything is spent; `route summarize` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from routecli.errors import BudgetError, NoModelError
from routecli.policy.prices import PriceTable, money
from routecli.policy.types import MapReduceSettings, Policy
from routecli.routing.chunking import Chunk, split
from routecli.routing.classify import Complexity, TaskChoice
from routecli.routing.decide import Decision, RoutingState, considered, decide, is_too_large
from routecli.routing.inputs import Request
from routecli.routing.options import RequestOptions
from routecli.routing.tokens import TokenCount

MAP_INSTRUCTION = (
    "Below is part {index} of {total} of a longer document{label}. Summarize this part on its own: keep the "
    "names, numbers, dates and decisions; no preamble.\n\n"
)
REDUCE_INSTRUCTION = (
    "Below are summaries of {total} consecutive parts of one document, in order. Combine them into a single "
    "coherent summary of the whole document{how}. Do not mention the parts.\n\n"
)
PROMPT_OVERHEAD = 200  # tokens for the instruction and labels around each chunk


@dataclass(frozen=True)
class Level:
    """One reduce level: `calls` calls combine `inputs` partial summaries."""

    inputs: int
    calls: int
    group_size: int


@dataclass(frozen=True)
class MapReducePlan:
    chunks: tuple[Chunk, ...]
    map_decision: Decision
    reduce_decision: Decision
    levels: tuple[Level, ...]
    settings: MapReduceSettings
    estimated_cost: Decimal | None
    worst_case_cost: Decimal | None
    budget: str | None = None  # why a budget refuses this plan (None: within every budget)
    downgraded: str | None = None  # the cheaper map model used to stay within a budget

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
        }


def needed(decision: Decision, settings: MapReduceSettings) -> bool:
    """Map-reduce a summary when no window fits the whole input, or the policy asks for it above a size."""
    if decision.task != "summarize":
        return False
    weighed = considered(decision)
    too_large = decision.chosen is None and bool(weighed) and all(is_too_large(v) for v in weighed)
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
    while size >= 1000:
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
) -> MapReducePlan:
    """The plan, with `budget` set when a budget refuses it even after trying a cheaper map model."""
    result = _plan(request, policy, prices, state, options, settings)
    refusal = _over_budget(result, policy, state, options)
    if refusal is None:
        return result
    if policy.budgets.on_exceed == "downgrade" and not options.pinned:
        for alias in _cheaper_map_models(result, policy, prices):
            pinned = options.but(pinned=alias)
            try:
                cheaper = _plan(request, policy, prices, state, pinned, settings, reduce_options=options)
            except (NoModelError, BudgetError):
                continue
            if _over_budget(cheaper, policy, state, options) is None:
                return replace(cheaper, downgraded=alias)
    return replace(result, budget=refusal)


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
    reduce_options: RequestOptions | None = None,
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
    reduce_decision = _decide_for(
        policy, prices, state, reduce_options or options, reduce_tokens, "reduce: combine the parts"
    )
    if reduce_decision.chosen is None:
        raise NoModelError("no model can combine the partial summaries (see `route explain`)")
    estimated, worst = _costs(chunks, levels, map_decision, reduce_decision, prices, settings, policy)
    return MapReducePlan(chunks, map_decision, reduce_decision, tuple(levels), settings, estimated, worst)


def _costs(
    chunks: tuple[Chunk, ...],
    levels: list[Level],
    map_decision: Decision,
    reduce_decision: Decision,
    prices: PriceTable,
    settings: MapReduceSettings,
    policy: Policy,
) -> tuple[Decimal | None, Decimal | None]:
    map_price = prices.get(map_decision.chosen or "")
    reduce_price = prices.get(reduce_decision.chosen or "")
    if map_price is None or reduce_price is None:
        return None, None
    partial = settings.partial_tokens
    estimated = worst = Decimal(0)
    for chunk in chunks:
        tokens_in = chunk.est_tokens + PROMPT_OVERHEAD
        estimated += map_price.cost(tokens_in, partial // 2)
        worst += map_price.cost(tokens_in, partial)
    final_out = policy.tasks["summarize"].expected_output
    final_reserve = reduce_decision.verdict(reduce_decision.chosen or "").output_reserve
    for level in levels:
        price = reduce_price if level is levels[-1] else map_price
        for _ in range(level.calls):
            tokens_in = min(level.group_size, level.inputs) * partial + PROMPT_OVERHEAD
            last = level is levels[-1]
            estimated += price.cost(tokens_in, final_out if last else partial // 2)
            worst += price.cost(tokens_in, final_reserve if last else partial)
    return estimated, worst


def _over_budget(result: MapReducePlan, policy: Policy, state: RoutingState, options: RequestOptions) -> str | None:
    """Why a budget refuses the whole plan (the budget covers all its calls, not each one), or None."""
    worst = result.worst_case_cost
    if worst is None:
        return None
    budgets = policy.budgets
    limits = [(b, "per-request budget") for b in (budgets.per_request, options.request_budget) if b is not None]
    if budgets.per_day is not None:
        limits.append((budgets.per_day - state.spent_today, "daily budget"))
    if budgets.per_month is not None:
        limits.append((budgets.per_month - state.spent_month, "monthly budget"))
    for limit, name in limits:
        if worst > limit:
            return (
                f"refused by the {name}: summarizing this input takes {result.calls} calls, "
                f"worst case {money(worst)}, over the {money(max(limit, Decimal(0)))} left"
            )
    return None


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
