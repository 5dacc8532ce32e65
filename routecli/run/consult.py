"""Planning with the optional model classifier (`classify.model`, issue 11): when the learned classifier is
unsure, ask the named model for the task (once per prompt: answers are cached by prompt hash in a 0600 file in
the cache folder) and plan again with its answer. `route explain` only reads the cache; it never calls.

The call is written ahead (in flight, at its worst case) through a journal of the plan it was asked for (the
request's own journal does not exist yet), so a SIGKILL leaves it in the ledger; the request settles the same row
with its own attempts (a stop during the call settles it here)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from routecli.errors import BudgetError, LedgerError
from routecli.paths import Paths, write_private
from routecli.policy.types import Policy
from routecli.routing import plan as planning  # one lookup at call time: tests plant bugs in make_plan
from routecli.routing.caps import run_cap, unpriced_under
from routecli.routing.consult import ANSWER_TOKENS, ModelAnswer, cache_key, classifier_text, question, read_answer
from routecli.routing.continuity import FollowUp
from routecli.routing.inputs import Request
from routecli.routing.options import RequestOptions
from routecli.routing.plan import Plan
from routecli.routing.review import usable

if TYPE_CHECKING:  # explain plans without calling: the side-call machinery is imported only to call
    from routecli.run.attempts import Attempt
    from routecli.run.journal import Journal
    from routecli.run.state import World

MAX_ANSWERS = 5000  # the cache keeps the newest answers; an entry is ~120 bytes


@dataclass
class Planned:
    plan: Plan
    attempts: list[tuple[str | None, Attempt]] = field(default_factory=list)  # the classifier's call, if made
    notices: list[str] = field(default_factory=list)  # shown under --verbose


def plan_request(
    request: Request,
    policy: Policy,
    world: World,
    options: RequestOptions,
    paths: Paths,
    allow_map_reduce: bool,
    may_call: bool,
    follow: FollowUp | None = None,
    known_keys: Mapping[str, str] | None = None,
    journal_for: Callable[[Plan], Journal] | None = None,
) -> Planned:
    """make_plan, with the model classifier's cached answer; `may_call`: ask it when the plan wants it (then
    `journal_for` gives the journal its call is written ahead and settled in); `follow`: a continued
    conversation's last turn."""
    settings = policy.classify_model
    if settings is None:
        return Planned(
            planning.make_plan(
                request, policy, world.prices, world.state, options, allow_map_reduce, None, follow, known_keys
            )
        )
    text = classifier_text(request)
    key = cache_key(settings.model, text)
    answers = _read(paths.classifier_answers)
    cached = answers.get(key)
    answer = ModelAnswer(cached, settings.model, cached=True) if isinstance(cached, str) else None
    plan = planning.make_plan(
        request, policy, world.prices, world.state, options, allow_map_reduce, answer, follow, known_keys
    )
    if not may_call or plan.consult is None or plan.consult.answer is not None:
        return Planned(plan)
    planned = Planned(plan)
    problem = usable(policy, world.state, settings.model)
    cap = run_cap(policy, options, world.state.spent_today, world.state.spent_month)
    if problem is None and cap is not None and world.prices.get(settings.model) is None:
        problem = unpriced_under(cap)  # its worst case is unknown, not $0: it cannot be shown to fit the limit
    if problem is not None:  # no request that cannot succeed (a remote model without its key, say)
        planned.notices.append(f"classifier model not consulted: {problem}; the learned classifier decides")
        return planned
    from routecli.run.attempts import Interrupted
    from routecli.run.aux import call_aux

    assert journal_for is not None, "a call is made: its row is written ahead"
    journal = journal_for(plan)
    try:
        attempt = call_aux(
            policy,
            world.environment,
            world.prices,
            settings.model,
            question(policy, text),
            ANSWER_TOKENS,
            lambda a: planned.attempts.append(("classify", a)),
            on_start=lambda estimate: journal.ahead("classify", estimate),
        )
    except BudgetError as refused:  # other runs took what was left: the classifier is optional
        planned.notices.append(f"classifier model not consulted: {refused.message}; the learned classifier decides")
        return planned
    except Interrupted as stop:  # Ctrl-C, SIGTERM, SIGHUP: the call is settled as interrupted, then route stops
        _settle(journal, planned.attempts)
        raise stop.stop or KeyboardInterrupt() from None
    if attempt.status != "ok":
        planned.notices.append(f"classifier model {settings.model} failed ({attempt.error}); the learned one decides")
        return planned
    task = read_answer(policy, attempt.text)
    if task is None:
        said = " ".join(attempt.text.split())[:60]
        planned.notices.append(
            f"classifier model {settings.model} answered {said!r}, not a task; the learned classifier decides"
        )
        return planned
    answers[key] = task
    _write(paths.classifier_answers, answers)
    fresh = ModelAnswer(task, settings.model, cached=False)
    planned.plan = planning.make_plan(
        request, policy, world.prices, world.state, options, allow_map_reduce, fresh, follow, known_keys
    )
    return planned


def _settle(journal: Journal, attempts: list[tuple[str | None, Attempt]]) -> None:
    """Settle the classifier's row of a run stopped during the call (no request follows to record it); the stop
    is what the user sees, not a ledger that cannot take the row (it is kept pending then)."""
    for stage, attempt in attempts:
        journal.done(stage, attempt)
    with contextlib.suppress(LedgerError):
        journal.settle()


def _read(path: Path) -> dict[str, object]:
    """The cached answers; a missing or damaged file is an empty cache (it is only a cache)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, answers: dict[str, object]) -> None:
    newest = dict(list(answers.items())[-MAX_ANSWERS:])
    with contextlib.suppress(OSError):  # a cache that cannot be written costs one more call next time, nothing else
        write_private(path, json.dumps(newest))
