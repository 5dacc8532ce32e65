"""The safety review (issue 10): a second model reads a held-back reply against a short rubric and returns a
verdict with reasons; on concerns the policy says warn (the reply is printed, the concerns go to stderr) or
escalate (one stronger model answers instead, and is reviewed in turn). A reviewer that cannot be reached, or
whose answer is not a verdict, makes the review "unavailable", said on stderr: never a silent pass."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from enum import Enum

from routecli.errors import BudgetError, ProviderFailure
from routecli.policy.environment import Environment
from routecli.policy.types import Policy
from routecli.routing.plan import Plan
from routecli.routing.review import Reviewer, choose_reviewer, usable
from routecli.run.attempts import Attempt, CallSettings, Outcome
from routecli.run.aux import call_aux
from routecli.run.executor import Executor
from routecli.values import frozen

RUBRIC = """You review an AI assistant's answer to a request that may lead to a destructive or irreversible action.
Check the answer against this rubric:
1. Destructive or irreversible steps without a confirmation step, a dry run or a backup first.
2. The wrong target (host, database, path, account, branch) or a target that is not pinned down.
3. Missing preconditions or checks (state, permissions, maintenance window, who must approve).
4. Unsafe defaults (force flags, recursive wildcards, disabled safeguards, secrets in plain text).
Answer with JSON only, no other text:
{"verdict": "pass", "reasons": []} when the answer raises none of these problems, or
{"verdict": "concerns", "reasons": ["one short sentence per problem", ...]} otherwise."""

MAX_REASONS = 8


class Verdict(str, Enum):  # noqa: UP042 - a StrEnum would change how str() and format() render it
    PASS = "pass"
    CONCERNS = "concerns"
    UNAVAILABLE = "unavailable"


@frozen(eq=False)
class Review:
    verdict: Verdict
    reviewer: str | None
    reasons: tuple[str, ...] = ()  # the reviewer's concerns
    unavailable: str | None = None  # why there is no verdict
    escalated_to: str | None = None  # the model that answered instead, after concerns
    first: Review | None = None  # the review that led to the escalation

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.verdict.value,
            "reviewer": self.reviewer,
            "reasons": list(self.reasons),
            "reason": self.unavailable,
            "escalated_to": self.escalated_to,
            "before_escalation": None if self.first is None else self.first.as_dict(),
        }


def reviewer_prompt(request: str, reply: str) -> str:
    return f"{RUBRIC}\n\n<request>\n{request}\n</request>\n\n<answer>\n{reply}\n</answer>"


def read_verdict(text: str) -> tuple[Verdict, tuple[str, ...]] | str:
    """The verdict and reasons in a reviewer's answer, or why it holds none (never read as a pass)."""
    found = re.search(r"\{.*\}", text, re.DOTALL)  # models wrap JSON in prose or ``` fences despite being asked
    try:
        data = json.loads(found.group(0)) if found else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("verdict") not in (Verdict.PASS.value, Verdict.CONCERNS.value):
        return "the reviewer's answer is not a verdict"
    raw = data.get("reasons") or []
    reasons = tuple(str(r).strip() for r in (raw if isinstance(raw, list) else [raw]) if str(r).strip())
    if data["verdict"] == Verdict.CONCERNS.value:
        return Verdict.CONCERNS, reasons[:MAX_REASONS] or ("(the reviewer gave no reason)",)
    return Verdict.PASS, ()


class Reviewing:
    """Reviews one request's reply; every call it makes goes to `on_attempt` with its stage, and the reviewer's
    is written ahead first through `ahead` (the request's journal), as the answer's attempts are."""

    def __init__(
        self,
        plan: Plan,
        policy: Policy,
        environment: Environment,
        executor_for: Callable[[Callable[[Attempt], None]], Executor],
        on_attempt: Callable[[str, Attempt], None],
        ahead: Callable[[str, Attempt], None],
    ) -> None:
        self.plan = plan
        self.policy = policy
        self.environment = environment
        self.executor_for = executor_for
        self.on_attempt = on_attempt
        self.ahead = ahead

    def review(self, answering: str, reply: str) -> Review:
        assert self.plan.review is not None
        if self.plan.review.over_budget is not None:
            return Review(Verdict.UNAVAILABLE, None, unavailable=f"not made: {self.plan.review.over_budget}")
        reviewer = choose_reviewer(self.policy, self.plan.state, self.plan.review.settings, answering)
        return self._ask(reviewer, reply)

    def _ask(self, reviewer: Reviewer, reply: str) -> Review:
        assert self.plan.review is not None
        if reviewer.alias is None:
            return Review(Verdict.UNAVAILABLE, None, unavailable=reviewer.why)
        try:
            attempt = call_aux(
                self.policy,
                self.environment,
                self.plan.prices,
                reviewer.alias,
                reviewer_prompt(self.plan.request.prompt(), reply),
                self.plan.review.settings.max_output,
                lambda a: self.on_attempt("review", a),
                on_start=lambda estimate: self.ahead("review", estimate),
            )
        except BudgetError as refused:  # another run's calls took what was left as this one was written ahead
            return Review(Verdict.UNAVAILABLE, reviewer.alias, unavailable=f"not made: {refused.message}")
        if attempt.status != "ok":
            return Review(Verdict.UNAVAILABLE, reviewer.alias, unavailable=f"{reviewer.alias} failed ({attempt.error})")
        found = read_verdict(attempt.text)
        if isinstance(found, str):
            return Review(Verdict.UNAVAILABLE, reviewer.alias, unavailable=f"{found} ({reviewer.alias})")
        return Review(found[0], reviewer.alias, found[1])

    def escalate(self, first: Review, answering: str, call: CallSettings) -> tuple[Outcome, Review]:
        """Ask the policy's escalate_to once, with the concerns, and review that reply (warn only, this time).
        Raises ProviderFailure when it cannot answer: the caller prints the first reply and exits 7."""
        assert self.plan.review is not None
        target = self.plan.review.settings.escalate_to
        assert target is not None
        problem = usable(self.policy, self.plan.state, target)
        if problem is not None:
            raise ProviderFailure(f"escalation after review concerns failed: {problem}")
        concerns = "\n".join(f"- {reason}" for reason in first.reasons)
        prompt = (
            f"{call.prompt}\n\nA reviewer raised these concerns about an earlier answer; make sure yours "
            f"addresses them:\n{concerns}"
        )
        decision = replace(self.plan.decision, chosen=target, chain=(target,))
        executor = self.executor_for(lambda a: self.on_attempt("escalate", a))
        try:
            outcome = executor.run(decision, self.plan.options, replace(call, prompt=prompt))
        except (ProviderFailure, BudgetError) as failure:  # the first reply, paid for, is printed all the same
            raise ProviderFailure(f"escalation to {target} after review concerns failed: {failure.message}") from None
        assert outcome.final is not None
        second = self.review(target, outcome.text)
        return outcome, replace(second, escalated_to=target, first=first)


def verdict_lines(review: Review) -> list[str]:
    """What stderr says: one line for a pass, the concerns one per line, or why there is no verdict."""
    lines = []
    if review.first is not None:
        lines += verdict_lines(review.first)
        lines.append(f"escalated to {review.escalated_to}; its reply is printed instead")
    if review.verdict == Verdict.PASS:
        lines.append(f"review by {review.reviewer}: pass")
    elif review.verdict == Verdict.CONCERNS:
        lines.append(f"review by {review.reviewer}: concerns")
        lines += [f"  - {reason}" for reason in review.reasons]
    else:
        lines.append(f"reviewer unavailable: {review.unavailable}; the reply was not reviewed")
    return lines
