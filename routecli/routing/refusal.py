"""When a decision chose no model: the one error (and exit code) that says why, and the way out.

Pure, like the decision it reads: `plan.py` raises what this returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routecli.errors import BudgetError, NoModelError, RouteError, SecretError, SettingError, TooLargeError
from routecli.routing.exclusions import SIZE, Why, only

if TYPE_CHECKING:
    from routecli.routing.decide import Decision, Verdict
    from routecli.routing.secrets import Finding


def is_too_large(verdict: Verdict) -> bool:
    """Excluded by its window alone (or with other reasons, among them the window)."""
    return any(r.kind in SIZE for r in verdict.exclusions)


def considered(decision: Decision) -> list[Verdict]:
    """The verdicts that were weighed: all but those set aside because another model was pinned."""
    return [v for v in decision.candidates if not only(v.exclusions, frozenset({Why.NOT_PINNED}))]


def no_model_error(decision: Decision) -> RouteError:
    """The right error (and exit code) for a decision that chose nothing."""
    weighed = considered(decision)
    for verdict in weighed:  # a setting that can never work is the user's to fix first (exit 2, no call made)
        for reason in verdict.exclusions:
            if reason.kind is Why.BAD_SETTING:
                return SettingError(f"{verdict.alias}: {reason.text}")
    if decision.budget_refusal:
        return BudgetError(decision.budget_refusal)
    if weighed and all(is_too_large(v) for v in weighed):
        biggest = max(weighed, key=lambda v: v.context)
        return TooLargeError(
            f"input too large for every model: ~{decision.tokens.value:,} tokens; the largest window is "
            f"{biggest.alias} ({biggest.context:,} tokens)"
            + "; try `route summarize` (map-reduce) or `--truncate`"
        )
    summary = "; ".join(f"{v.alias}: {v.why}" for v in decision.candidates[:4])
    return NoModelError(f"no eligible model for this {decision.task} request ({summary})")


def secret_refusal(findings: tuple[Finding, ...]) -> SecretError:
    """A secret kept it home and no local model can take it: where it is and what kind, never its value."""
    first = findings[0]
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    return SecretError(
        f"{first.sentence}{more}: not sent to a remote model; pass --allow-secrets to send it "
        "anyway, or run a local model (`route local serve`)"
    )
