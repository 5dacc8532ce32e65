"""Task detection and a complexity estimate: the policy's rules and a learned model, keeping the evidence.

Pure: no I/O but reading the shipped weights once. The instruction (what the user typed) decides; text attached
from stdin or files counts at a quarter of the weight, so "summarize this" over a file full of code stays a summary.

Who wins: a safety rule always (a destructive action must never be routed as chat); then a rule from the user's
own policy (their lever); then the learned model when it is confident (it generalises where hand-written rules
over-fit); then any default rule that fired; else the policy's default task. Two leanings: a model that only
says the default task (chat) yields to a rule naming a specific one unless it is sure, and a model reading safety
is believed sooner than one reading anything else.
"""

from __future__ import annotations

from routecli.errors import UsageError
from routecli.policy.located import brief_path
from routecli.policy.types import TASKS, Policy
from routecli.routing import learned
from routecli.routing.consult import ModelAnswer
from routecli.values import frozen

SAFETY = "safety"
MODEL_CONFIDENT = 0.5  # at or above this the learned model's task wins over the default rules
# The model's "chat" is weak evidence: chat is what is left when nothing specific is asked, so below this a rule
# naming a specific task (translate, sentiment, probability, ...) wins over a model that only says chat.
CHAT_CONFIDENT = 0.6
# A destructive action routed as chat costs far more than a question routed as safety, so where no rule speaks,
# the model's safety reading wins from a lower confidence than its other readings.
SAFETY_CONFIDENT = 0.4
HARD = 0.8  # the model's difficulty signal: a multi-step problem (word problem, puzzle, proof)
EASY = 0.1
SHORT_WORDS = 25  # a short prompt the model sees as easy is a factual question: one level less

HEAD_CHARS = 4096  # how much of an attached input the rules look at
ATTACHED_WEIGHT = 0.25


@frozen
class TaskChoice:
    task: str
    evidence: tuple[str, ...]
    scores: dict[str, float]
    forced: bool = False
    model_decides: bool = False  # no stronger signal than the classifiers (a model classifier may be asked)


@frozen
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


def read_prompt(instruction: str, attached: str) -> learned.Prediction:
    """The learned model's reading of the prompt: the instruction if there is one, else the attached head."""
    return learned.predict(instruction if instruction.strip() else attached[:HEAD_CHARS])


def _model_evidence(prediction: learned.Prediction) -> str:
    words = ", ".join(f"'{word}'" for word in prediction.top_features[:4])
    return f"model: {prediction.task} {prediction.confidence:.2f}" + (f" ({words})" if words else "")


def classify(
    policy: Policy,
    instruction: str,
    attached: str,
    tokens: int,
    forced: str | None = None,
    prediction: learned.Prediction | None = None,
    answer: ModelAnswer | None = None,
) -> TaskChoice:
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
                        f"{where} ({brief_path(rule.origin.path, policy.sources[0])}:{rule.origin.line})"
                    )
                    break  # a pattern counts once, wherever it matched first
    long_input = rules.long_input_above is not None and tokens > rules.long_input_above
    if not instruction.strip() and rules.long_input_task and long_input:
        why = f"no instruction and a long input (~{tokens} tokens > {rules.long_input_above})"
        return TaskChoice(rules.long_input_task, (why,), scores)
    order = [rule.task for rule in rules.rules]
    by_rules = max(scores, key=lambda task: (scores[task], -order.index(task))) if scores else None
    if prediction is None:
        prediction = read_prompt(instruction, attached)
    model_says = _model_evidence(prediction)
    user_tasks = {rule.task for rule in rules.rules if rule.origin.path != policy.sources[0]}
    if SAFETY in scores and SAFETY in policy.tasks:
        return TaskChoice(SAFETY, (*evidence[SAFETY], model_says), scores)
    if by_rules is not None and by_rules in user_tasks and by_rules in policy.tasks:
        return TaskChoice(by_rules, (*evidence[by_rules], model_says), scores)  # the user's own rule steers
    # From here on the classifiers decide, so a model classifier may be asked (`model_decides`).
    if answer is not None and answer.task in policy.tasks:  # the model classifier, asked when unsure
        cached = " (cached)" if answer.cached else ""
        said = f"classifier model {answer.alias}: {answer.task}{cached}"
        return TaskChoice(answer.task, (*evidence.get(answer.task, []), model_says, said), scores, model_decides=True)
    specific_rule = by_rules is not None and by_rules != rules.default and by_rules in policy.tasks
    only_chat = prediction.task == rules.default and prediction.confidence < CHAT_CONFIDENT
    needed = SAFETY_CONFIDENT if prediction.task == SAFETY and by_rules is None else MODEL_CONFIDENT
    if prediction.confidence >= needed and prediction.task in policy.tasks and not (only_chat and specific_rule):
        best, why = prediction.task, evidence.get(prediction.task, [])  # rules that agree still show
    elif by_rules is not None and by_rules in policy.tasks:
        best, why = by_rules, evidence[by_rules]
    else:
        why = (f"no rule matched; default task '{rules.default}'", model_says)
        return TaskChoice(rules.default, why, scores, model_decides=True)
    return TaskChoice(best, (*why, model_says), scores, model_decides=True)


def estimate_complexity(
    policy: Policy,
    instruction: str,
    attached: str,
    tokens: int,
    forced: int | None = None,
    prediction: learned.Prediction | None = None,
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
    if prediction is None:
        prediction = read_prompt(instruction, attached)
    if prediction.hard >= HARD:
        level += 1
        evidence.append(f"+1 model: a multi-step problem ({prediction.hard:.2f})")
    elif prediction.hard <= EASY and prediction.task == "chat" and len(text.split()) <= SHORT_WORDS:
        level -= 1
        evidence.append(f"-1 model: a short, easy question ({prediction.hard:.2f})")
    if settings.long_prompt_above is not None and tokens > settings.long_prompt_above:
        level += settings.long_prompt_add
        evidence.append(f"{settings.long_prompt_add:+d} long prompt (>{settings.long_prompt_above} tokens)")
    return Complexity(max(1, min(10, level)), tuple(evidence))
