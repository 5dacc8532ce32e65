"""A follow-up in a conversation: stay on the previous turn's model while it can take the whole conversation.

Pure, like the decision it adjusts. The decision is made again on the whole conversation's tokens (context
escalation applies as to any request); then, when the previous turn's model is still eligible and capable
(its tier meets the required one), it goes first in the chain: the conversation reads consistently, and
providers that cache prompts bill the repeated turns for less. Otherwise the conversation moves, and the
typed reason says why (`route explain -c` shows it).
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

from routecli.policy.prices import money
from routecli.policy.types import Policy
from routecli.routing.classify import TaskChoice
from routecli.routing.decide import Decision, Verdict
from routecli.routing.exclusions import SIZE, Why
from routecli.values import frozen

# A follow-up this short ("and now in French", "shorter", "now") says little about its task on its own.
FOLLOW_UP_WORDS = 6
FOLLOW_UP_CONFIDENT = 0.5  # a longer follow-up keeps the conversation's task when the classifier is unsure


@frozen
class FollowUp:
    """What a continued conversation's last turn decided: its model (kept while it may) and its task."""

    model: str | None
    task: str | None


def inherit_task(
    choice: TaskChoice, follow: FollowUp | None, instruction: str, confidence: float | None, policy: Policy
) -> TaskChoice:
    """A short or unclear follow-up keeps the conversation's task. Only where the classifiers decided: a forced
    task, a safety rule or the user's own rule still win (a "now drop the prod table" is caught by its rule)."""
    if follow is None or follow.task is None or follow.task == choice.task or follow.task not in policy.tasks:
        return choice
    if choice.forced or not choice.model_decides:
        return choice
    short = len(instruction.split()) <= FOLLOW_UP_WORDS
    if not short and confidence is not None and confidence >= FOLLOW_UP_CONFIDENT:
        return choice
    why = f"follow-up: keeps the conversation's task '{follow.task}' (on its own the prompt reads as {choice.task})"
    return TaskChoice(follow.task, (why, *choice.evidence), choice.scores)


class Move(str, Enum):  # noqa: UP042 - shown and serialised as its plain value
    STAYS = "stays"  # the previous turn's model takes this turn too
    OUTGROWN = "outgrown"  # the conversation no longer fits its window (or an escalation rule's)
    INELIGIBLE = "ineligible"  # excluded for another reason: no key, cooling down, budget, ...
    BELOW_TIER = "below_tier"  # eligible as a fallback only, below the tier this turn requires
    NOT_A_CANDIDATE = "not_a_candidate"  # not a candidate or fallback of this turn's task (or gone from the policy)
    PINNED = "pinned"  # -m names the model: the pin wins


@frozen
class Continuity:
    previous: str  # the previous turn's model
    move: Move
    chosen: str | None  # the model taking this turn
    tokens: int  # the whole conversation's prompt tokens
    detail: str = ""  # the previous model's exclusions, in words, when it was excluded

    @property
    def stays(self) -> bool:
        return self.move == Move.STAYS

    @property
    def text(self) -> str:
        """For people only: nothing decides on this text."""
        if self.move == Move.STAYS:
            return f"stays on {self.previous}: previous turn's model, still eligible"
        target = self.chosen or "no model"
        if self.move == Move.OUTGROWN:
            why = f"conversation ({self.tokens:,} tokens) exceeds {self.previous}'s window"
        elif self.move == Move.BELOW_TIER:
            why = f"{self.previous} is below the tier this turn requires"
        elif self.move == Move.NOT_A_CANDIDATE:
            why = f"{self.previous} is not a model of this turn's task"
        elif self.move == Move.PINNED:
            why = "pinned with -m"
        else:
            why = f"{self.previous} is not eligible ({self.detail})"
        return f"moves from {self.previous} to {target}: {why}"

    def as_dict(self) -> dict[str, object]:
        return {"previous": self.previous, "move": self.move.value, "stays": self.stays, "chosen": self.chosen,
                "tokens": self.tokens, "text": self.text}


def continue_on(decision: Decision, previous: str | None, pinned: bool) -> tuple[Decision, Continuity | None]:
    """The decision for a follow-up turn, with the previous turn's model first when it may stay."""
    if previous is None:
        return decision, None
    tokens = decision.tokens.value
    verdict = next((v for v in decision.candidates if v.alias == previous), None)
    if pinned:  # -m wins; pinning the same model again is staying, not moving
        move = Move.STAYS if decision.chosen == previous else Move.PINNED
        return decision, Continuity(previous, move, decision.chosen, tokens)
    move = Move.NOT_A_CANDIDATE if verdict is None else _move(verdict, decision.required_tier)
    if verdict is None or move is not Move.STAYS:
        continuity = Continuity(previous, move, decision.chosen, tokens, "" if verdict is None else verdict.why)
        if decision.chosen is not None:
            decision = replace(decision, reason=f"{continuity.text}; {decision.reason}")
        return decision, continuity
    chain = (previous, *(alias for alias in decision.chain if alias != previous))
    cost = money(verdict.estimated_cost) if verdict.estimated_cost is not None else "an unknown price"
    continuity = Continuity(previous, Move.STAYS, previous, tokens)
    reason = f"{continuity.text}, at an estimated {cost} (tier {verdict.tier} >= required {decision.required_tier})"
    return replace(decision, chosen=previous, chain=chain, reason=reason), continuity


def _move(verdict: Verdict, required_tier: int) -> Move:
    if any(reason.kind in SIZE for reason in verdict.exclusions):
        return Move.OUTGROWN
    if verdict.exclusions and all(reason.kind == Why.NOT_PINNED for reason in verdict.exclusions):
        return Move.PINNED
    if verdict.exclusions:
        return Move.INELIGIBLE
    if verdict.tier < required_tier and not verdict.downgraded:
        return Move.BELOW_TIER
    return Move.STAYS
