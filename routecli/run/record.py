"""Turning the attempts of one request into ledger rows (prices, reason, chain position)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from routecli.ledger import attribution
from routecli.ledger.attribution import Attribution
from routecli.ledger.facts import DecisionFacts
from routecli.ledger.store import Row
from routecli.routing.plan import Plan
from routecli.run.attempts import Attempt


def new_request_id() -> str:
    return uuid.uuid4().hex


def rows_for(
    plan: Plan,
    attempts: Sequence[tuple[str | None, Attempt]],
    command: str,
    log_prompt: bool,
    request_id: str | None = None,
    by: Attribution | None = None,
) -> list[Row]:
    """One row per attempt; `attempts` pairs each with its stage (None for a single call). The rows written
    ahead and the settled ones of one request share `request_id`; `by`: who made the calls."""
    request_id = request_id or new_request_id()
    by = by or attribution.current()
    decision = plan.decision
    prompt = plan.at_rest(plan.request.prompt()) if log_prompt else None
    facts = decision_facts(plan)
    rows = []
    for stage, attempt in attempts:
        price = plan.prices.get(attempt.alias)
        rows.append(
            Row(
                ts=attempt.started_at,
                request_id=request_id,
                command=command,
                task=decision.task,
                profile=decision.profile,
                alias=attempt.alias,
                provider=attempt.provider,
                model_id=attempt.model_id,
                reported_model_id=attempt.reported_model_id,
                chain_position=attempt.position,
                try_number=attempt.try_number,
                status=attempt.status,
                error_kind=attempt.error_kind,
                error=attempt.error,
                input_tokens=attempt.input_tokens,
                output_tokens=attempt.output_tokens,
                cached_input_tokens=attempt.cached_input_tokens,
                cache_write_tokens=attempt.cache_write_tokens,
                reasoning_tokens=attempt.reasoning_tokens,
                usage_estimated=attempt.usage_estimated,
                cost_usd=attempt.cost_usd,
                price_source=None if price is None else price.source,
                first_token_s=attempt.first_token_s,
                total_s=attempt.total_s,
                reason=decision.reason,
                prompt=prompt,
                stage=stage,
                first_byte_s=attempt.first_byte_s,
                overhead_s=attempt.overhead_s,
                facts=facts,
                attempt_id=attempt.attempt_id,
                user_name=by.user,
                host=by.host,
                tag=by.tag,
            )
        )
    return rows


def decision_facts(plan: Plan) -> DecisionFacts:
    """The decision's inputs, for `route replay`: only the options that were set go into the flags."""
    options = plan.options
    flags = {
        "task": options.task,
        "complexity": options.complexity,
        "model": options.pinned,
        "profile": options.profile,
        "local": options.local_only or None,
        "interactive": options.interactive or None,
        "max_tokens": options.max_tokens,
        "max_cost": None if options.request_budget is None else str(options.request_budget),
        "truncate": plan.truncation is not None or None,
        "map_reduce": plan.mapreduce is not None or None,
    }
    decision = plan.decision
    return DecisionFacts(
        complexity=decision.complexity.level,
        tokens=decision.tokens.value,
        input_bytes=plan.request.size(),
        policy_hash=plan.policy_hash,
        flags={name: value for name, value in flags.items() if value is not None},
    )
