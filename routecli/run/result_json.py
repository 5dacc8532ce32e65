"""The one `--json` object of `route ask` / `route summarize`: the reply with its model, usage, cost and every
attempt; or, for a run that failed, the same shape with the error (`failure_result`: failed before any call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from routecli.policy.keyshapes import mask_keys

if TYPE_CHECKING:
    from routecli.routing.plan import Plan
    from routecli.run.attempts import Attempt, Outcome
    from routecli.run.review import Review


def result_dict(
    plan: Plan,
    outcome: Outcome,
    command: str,
    error: str | None = None,
    review: Review | None = None,
    side: Sequence[tuple[str | None, Attempt]] = (),
    elapsed_s: float | None = None,
) -> dict[str, Any]:
    """The `--json` shape of `route ask` / `route summarize`: `usage` is the final call's, `cost_usd` and
    `totals` cover every call (retries, fallbacks, map-reduce chunks)."""
    final = outcome.final
    cost = outcome.cost_usd
    attempts = outcome.attempts
    return {
        "command": command,
        "reply": outcome.text,
        "ok": error is None,
        "error": None if error is None else mask_keys(error),  # as the error line shows it: a provider's message
        # may repeat the id it was sent (a key pasted as an id)
        "task": plan.decision.task,
        "reason": plan.decision.reason,
        "model": None if final is None else {
            "alias": final.alias,
            "provider": final.provider,
            "model_id": final.model_id,
            "reported_model_id": final.reported_model_id,
        },
        "usage": None if final is None else {
            "input_tokens": final.input_tokens,
            "output_tokens": final.output_tokens,
            "cached_input_tokens": final.cached_input_tokens,
            "reasoning_tokens": final.reasoning_tokens,
            "estimated": final.usage_estimated,
        },
        "cost_usd": None if cost is None else float(cost),
        "final_cost_usd": None if final is None or final.cost_usd is None else float(final.cost_usd),
        "stop_reason": None if final is None else final.stop_reason,
        "totals": {
            "calls": len(attempts),
            "input_tokens": sum(a.input_tokens or 0 for a in attempts),
            "output_tokens": sum(a.output_tokens or 0 for a in attempts),
            "cost_usd": None if cost is None else float(cost),
            "elapsed_s": elapsed_s,
        },
        "attempts": [a.as_dict() for a in outcome.attempts],
        "plan": None if plan.mapreduce is None else plan.mapreduce.as_dict(),
        "review": None if review is None else review.as_dict(),
        "classifier": None if plan.consult is None else plan.consult.as_dict(),
        "side_calls": [{"stage": stage, **a.as_dict()} for stage, a in side],  # reviewer, model classifier
    }


def failure_result(command: str, error: str) -> dict[str, Any]:
    """A run that failed before a plan or a call (bad input or usage, no model, a budget, the policy): the shape
    an exit-7 failure prints, with nothing known but the error."""
    return {
        "command": command,
        "reply": "",
        "ok": False,
        "error": mask_keys(error),
        "task": None,
        "reason": None,
        "model": None,
        "usage": None,
        "cost_usd": None,
        "final_cost_usd": None,
        "stop_reason": None,
        "totals": {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": None, "elapsed_s": None},
        "attempts": [],
        "plan": None,
        "review": None,
        "classifier": None,
        "side_calls": [],
    }
