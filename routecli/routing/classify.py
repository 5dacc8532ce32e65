"""Task detection and a complexity estimate, driven by the policy's rules, keeping the evidence.

Pure: no I/O. The instruction (what the user typed) decides; text attached from stdin or files counts
at a quarter of the weight, so "summarize this" over a file full of code stays a summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from routecli.errors import UsageError
from routecli.policy.types import TASKS, Policy

HEAD_CHARS = 4096  # how much of an attached input the rules look at
ATTACHED_WEIGHT = 0.25


@dataclass(frozen=True)
class TaskChoice:
    task: str
    evidence: tuple[str, ...]
    scores: dict[str, float]
    forced: bool = False


@dataclass(frozen=True)
class Complexity:
    level: int  # 1..10
    evidence: tuple[str, ...]
    forced: bool = False

    @property
    def tier_shift(self) -> int:
        if self.level <= 2:
            return -1
        if self.level >= 8:
            return 2
        if self.level >= 6:
            return 1
        return 0


def _snippet(text: str, start: int, end: int) -> str:
    found = " ".join(text[start:end].split())
    return found if len(found) <= 40 else found[:37] + "..."


def classify(policy: Policy, instruction: str, attached: str, tokens: int, forced: str | None = None) -> TaskChoice:
    if forced is not None:
        if forced not in TASKS:
            raise UsageError(f"unknown task '{forced}' (tasks are: {', '.join(TASKS)})")
        if forced not in policy.tasks:
            raise UsageError(f"task '{forced}' has no models in the policy")
        return TaskChoice(forced, (f"--task {forced}",), {}, forced=True)

    rules = policy.classification
    sources = [(instruction, 1.0, "")]
    if attached:
        sources.append((attached[:HEAD_CHARS], 1.0 if not instruction.strip() else ATTACHED_WEIGHT, " in input"))
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    for rule in rules.rules:
        for pattern in rule.patterns:
            for text, factor, where in sources:
                match = pattern.search(text) if text else None
                if match:
                    scores[rule.task] = scores.get(rule.task, 0.0) + rule.weight * factor
                    evidence.setdefault(rule.task, []).append(
                        f"{rule.task} +{rule.weight * factor:g}: '{_snippet(text, match.start(), match.end())}'"
                        f"{where} ({rule.origin})"
                    )
                    break  # a pattern counts once, wherever it matched first
    long_input = rules.long_input_above is not None and tokens > rules.long_input_above
    if not instruction.strip() and rules.long_input_task and long_input:
        why = f"no instruction and a long input (~{tokens} tokens > {rules.long_input_above})"
        return TaskChoice(rules.long_input_task, (why,), scores)
    if not scores:
        return TaskChoice(rules.default, (f"no rule matched; default task '{rules.default}'",), scores)
    order = [rule.task for rule in rules.rules]
    best = max(scores, key=lambda task: (scores[task], -order.index(task)))
    if best not in policy.tasks:
        best = rules.default
    return TaskChoice(best, tuple(evidence.get(best, ())), scores)


def estimate_complexity(
    policy: Policy, instruction: str, attached: str, tokens: int, forced: int | None = None
) -> Complexity:
    if forced is not None:
        if not 1 <= forced <= 10:
            raise UsageError(f"--complexity must be between 1 and 10 (got {forced})")
        return Complexity(forced, (f"--complexity {forced}",), forced=True)
    settings = policy.complexity
    level = settings.base
    evidence = [f"base {settings.base}"]
    text = instruction if instruction.strip() else attached[:HEAD_CHARS]
    for hint in settings.hints:
        match = hint.pattern.search(text)
        if match:
            level += hint.weight
            evidence.append(f"{hint.weight:+d} '{_snippet(text, match.start(), match.end())}'")
    if settings.long_prompt_above is not None and tokens > settings.long_prompt_above:
        level += settings.long_prompt_add
        evidence.append(f"{settings.long_prompt_add:+d} long prompt (>{settings.long_prompt_above} tokens)")
    return Complexity(max(1, min(10, level)), tuple(evidence))
