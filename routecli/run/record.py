"""Turning the attempts of one request into ledger rows (prices, reason, chain position)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from routecli.ledger import attribution
from routecli.ledger.attribution import Attribution
from routecli.ledger.store import Row
from routecli.routing.plan import Plan
from routecli.run.attempts import Attempt


def rows_for(
    plan: Plan,
    attempts: Sequence[tuple[str | None, Attempt]],
    command: str,
    log_prompt: bool,
    by: Attribution | None = None,
) -> list[Row]:
    """One row per attempt; `attempts` pairs each with its stage (None for a single call); `by`: who made it."""
    request_id = uuid.uuid4().hex
    by = by or attribution.current()
    decision = plan.decision
    prompt = plan.request.prompt() if log_prompt else None
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
                user_name=by.user,
                host=by.host,
                tag=by.tag,
            )
        )
    return rows
