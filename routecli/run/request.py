"""`route ask` and `route summarize`: plan, show the panel, execute, print the reply, report usage.

stdout carries the reply and nothing else; the panel, notices and the usage line go to stderr.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from routecli.errors import (
    EXIT_OUTPUT_CLOSED,
    BudgetError,
    ProviderFailure,
    RouteError,
    Stopped,
    interrupt_exit_code,
)
from routecli.paths import Paths
from routecli.policy.environment import Environment
from routecli.policy.types import Policy
from routecli.routing.caps import run_cap
from routecli.routing.plan import Plan, require_model
from routecli.run.attempts import Attempt, CallSettings, Interrupted, Outcome, Output, OutputClosed
from routecli.run.capguard import CapGuard
from routecli.run.executor import Executor
from routecli.run.failures import RateLimitPauses
from routecli.run.journal import Journal
from routecli.run.result_json import result_dict
from routecli.run.review import Review, Reviewing, Verdict, verdict_lines
from routecli.ui.display import Display
from routecli.ui.streams import say
from routecli.ui.terminal_text import TerminalFilter

AUX_STAGES = ("classify", "review")  # the side calls of a request, in its ledger rows and --json
EXIT_PIPE_CLOSED = EXIT_OUTPUT_CLOSED  # what a shell reports for a writer killed by SIGPIPE


class TerminalOutput:
    """Reply text to stdout as it arrives; notices to stderr."""

    def __init__(self, display: Display) -> None:
        self.display = display
        self.wrote = False
        self.ends_with_newline = True
        self.cleaner = TerminalFilter() if _is_terminal(sys.stdout) else None  # a pipe gets every byte

    def emit(self, text: str) -> None:
        if not text:
            return
        self.wrote = True  # before writing: a signal right after the write must still see it (it is flushed at exit)
        _write_reply(text if self.cleaner is None else self.cleaner.feed(text))
        self.ends_with_newline = text.endswith("\n")

    def notice(self, message: str) -> None:
        from routecli.ui.render import notice

        if self.display.quiet:
            return
        if self.wrote and not self.ends_with_newline and _stderr_is_terminal() and _is_terminal(sys.stdout):
            say("\n")  # do not glue the notice to a half-written line on the same screen
        notice(message)

    def finish(self, complete: bool = False) -> None:
        """End the reply with a newline, so the prompt (or the next reply in a file) does not follow it on the
        line. A complete reply always gets one; a partial one (failure, Ctrl-C) only on a terminal, so a pipe
        holds exactly the text that arrived."""
        if self.wrote and not self.ends_with_newline and (complete or _is_terminal(sys.stdout)):
            _write_reply("\n")


def _write_reply(text: str) -> None:
    """Any failure writing the reply is a closed output: the run stops writing, settles its rows and keeps its
    history (a reader gone, `>/dev/full`, a closed descriptor alike)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed from None
    except (OSError, ValueError) as failure:
        reason = getattr(failure, "strerror", None) or str(failure)
        raise OutputClosed(reason) from None


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _stderr_is_terminal() -> bool:
    return _is_terminal(sys.stderr)


def _say_unwritable(closed: BaseException | None) -> None:
    """One line when the reply could not be written for another reason than a reader gone (which is quiet)."""
    reason = getattr(closed, "reason", None)
    if reason:
        say(f"route: error: cannot write the reply ({reason}); the call is recorded\n")


def run_request(
    plan: Plan,
    policy: Policy,
    paths: Paths,
    environment: Environment,
    display: Display,
    command: str,
    notices: tuple[str, ...] = (),
    prior: Sequence[tuple[str | None, Attempt]] = (),
    keep: Callable[[Plan, Outcome, bool], str | None] | None = None,
) -> int:
    """`prior`: calls already made for this request (the model classifier's), recorded with its attempts.
    `keep(plan, outcome, interrupted)` is given each reply (a partial one too) after it is printed, for the
    history; it returns a notice or None. With a ledger a team shares, the run's worst case is reserved against
    the team's budgets first (run/budget_hold.py), and released whatever happens."""
    from routecli.run.budget_hold import hold_budget
    from routecli.ui.render import notice

    with hold_budget(plan, policy, paths, display.tag, lambda text: None if display.quiet else notice(text)):
        return _run_request(plan, policy, paths, environment, display, command, notices, prior, keep)


def _run_request(
    plan: Plan,
    policy: Policy,
    paths: Paths,
    environment: Environment,
    display: Display,
    command: str,
    notices: tuple[str, ...],
    prior: Sequence[tuple[str | None, Attempt]],
    keep: Callable[[Plan, Outcome, bool], str | None] | None,
) -> int:
    from routecli.ui.render import notice, print_json, show_panel, usage_line

    output = TerminalOutput(display)
    for line in notices:
        output.notice(line)
    journal = Journal(  # written ahead, each attempt admitted against the budgets as it is
        plan, paths, command, display.log_prompts, output.notice, display.tag, budgets=policy.budgets
    )
    for stage, attempt in prior:
        journal.done(stage, attempt)
    if plan.truncation is not None:
        cut = plan.truncation
        output.notice(
            f"--truncate: input cut to {cut.kept_bytes:,} of {cut.original_bytes:,} bytes to fit {cut.to_fit}'s window"
        )
    decision = plan.decision
    request = plan.request  # --truncate may have cut it
    options = plan.options
    try:
        require_model(plan)
    except RouteError:
        if prior:  # a classifier call was made and paid for: it is recorded whatever happens next
            _record(journal, output, keep_going=True)
        raise
    wants_panel = display.panel and (
        display.verbose or (_stderr_is_terminal() and not display.quiet and not display.json)
    )
    if plan.mapreduce is None and wants_panel:
        show_panel(decision, display.no_color)
    validate = decision.validate
    held_back = display.json or not display.stream or validate

    def call_for(prompt: str) -> CallSettings:
        return CallSettings(
            request.system, prompt, not held_back, display.stream, validate,
            history=request.history, user_max_tokens=options.max_tokens,
        )

    review: Review | None = None
    escalation_failed: str | None = None
    pauses = RateLimitPauses()  # shared by parallel chunk calls: a 429 pauses all calls to that provider
    cancel = threading.Event()  # set on Ctrl-C / SIGTERM / SIGHUP: stops the calls of the chunk threads too
    state = plan.state
    guard = CapGuard(run_cap(policy, options, state.spent_today, state.spent_month))  # the whole run, one cap
    waiting = None  # the live "waiting for MODEL (12 s)" line: a terminal only, and not under a progress bar
    if _stderr_is_terminal() and not display.quiet and plan.mapreduce is None:
        from routecli.ui.waiting import WaitingLine

        waiting = WaitingLine()

    def executor_with(
        out: Output, stage: str | None, on_attempt: Callable[[Attempt], None], downgrade: bool = True
    ) -> Executor:
        """`downgrade`: a budget found spent at write-ahead may move the chain to a cheaper model (not an
        escalation's, which is one named model)."""
        return Executor(
            policy, environment, plan.prices, paths, out, pauses=pauses, cancel=cancel, sleep=cancel.wait,
            waiting=waiting, guard=guard, on_attempt=on_attempt,
            on_start=lambda estimate: journal.ahead(stage, estimate), state=plan.state if downgrade else None,
        )

    def executor_for(out: Output, stage: str | None) -> Executor:
        return executor_with(out, stage, lambda attempt: journal.done(stage, attempt))

    started = time.monotonic()
    answered: Outcome | None = None
    try:
        try:
            if plan.mapreduce is not None:
                from routecli.run.mapreduce import run_map_reduce

                show = _stderr_is_terminal() and not display.quiet
                final = run_map_reduce(
                    plan, plan.mapreduce, executor_for, output, call_for, cancel, show, journal.attempts
                )
                outcome = Outcome(final.text, journal.attempts(), final.final)
            else:
                outcome = executor_for(output, None).run(decision, options, call_for(request.prompt()))
                answered = outcome  # held back while it is reviewed: a stop during the review keeps it
                if plan.review is not None:
                    reviewed = _reviewed(plan, policy, environment, outcome, call_for, executor_with, journal)
                    outcome, review, escalation_failed = reviewed
        except KeyboardInterrupt as stop:  # between calls (a retry's wait, the chunks' pool): as during one
            cancel.set()
            raise Interrupted(Outcome(""), stop=stop) from None
    except Interrupted as stop:
        cancel.set()
        _record(journal, output, keep_going=True)  # first: after SIGHUP, writing to the terminal may fail
        partial = Outcome(stop.outcome.text, journal.attempts())
        if answered is not None and not stop.outcome.text:  # stopped while the answer was being reviewed
            partial = Outcome(answered.text, journal.attempts(), answered.final)
        if display.json:
            with contextlib.suppress(OSError):
                print_json(result_dict(plan, partial, command, error="interrupted"))
        elif not stop.closed:
            _say_stopped(output, stop.stop)
        else:
            _say_unwritable(stop.stop)
        with contextlib.suppress(OSError):
            _keep(keep, plan, partial, output, interrupted=True)
        return EXIT_PIPE_CLOSED if stop.closed else interrupt_exit_code(stop.stop or KeyboardInterrupt())
    except (ProviderFailure, BudgetError) as failure:
        # The one-line error and exit code come from cli.main; with --json the details go to stdout too.
        if display.json:
            failed = Outcome(text="", attempts=journal.attempts())
            print_json(result_dict(plan, failed, command, error=failure.message))
            failure.json_shown = True  # with the attempts made: cli.main prints no other
        output.finish()
        _record(journal, output, keep_going=True)
        raise
    code = 0
    elapsed = round(time.monotonic() - started, 4)
    if review is not None:
        for line in verdict_lines(review):  # concerns and "unavailable" are shown even under --quiet
            if review.verdict == Verdict.PASS and escalation_failed is None:
                output.notice(line)
            else:
                notice(line)
    if display.json:
        side = [(stage, a) for stage, a in journal.finished if stage in AUX_STAGES]
        print_json(result_dict(plan, outcome, command, escalation_failed, review, side, elapsed_s=elapsed))
    else:
        try:
            if held_back:
                output.emit(outcome.text)
            output.finish(complete=True)
        except OutputClosed as closed:
            code = EXIT_PIPE_CLOSED
            _say_unwritable(closed)
        if (display.usage or display.verbose) and not code:
            say(usage_line(outcome, elapsed) + _side_cost(journal.finished) + "\n")
    _keep(keep, plan, outcome, output, interrupted=False)
    try:
        _record(journal, output, keep_going=escalation_failed is not None)  # settled after the reply: never delays it
        if escalation_failed is not None and not code:
            raise ProviderFailure(escalation_failed)  # the first reply is printed with its concerns; exit 7 says so
    except RouteError as error:  # e.g. the ledger could not be written (exit 8)
        error.json_shown = error.json_shown or display.json  # --json: the reply's object is out; one object a run
        raise
    return code


def _side_cost(attempts: Sequence[tuple[str | None, Attempt]]) -> str:
    """The side calls' cost after the usage line (the reply's cost stays the reply's): " · + $0.0005 review (gpt)"."""
    from routecli.policy.prices import money

    side = [(stage, a) for stage, a in attempts if stage in AUX_STAGES]
    if not side:
        return ""
    costs = [a.cost_usd for _, a in side]
    total = "unpriced" if any(c is None for c in costs) else money(sum(costs, Decimal(0)), 6)  # type: ignore[arg-type]
    calls = ", ".join(dict.fromkeys(f"{stage} ({a.alias})" for stage, a in side))
    return f" · + {total} {calls}"


def _reviewed(
    plan: Plan,
    policy: Policy,
    environment: Environment,
    outcome: Outcome,
    call_for: Callable[[str], CallSettings],
    executor_with: Callable[[Output, str | None, Callable[[Attempt], None], bool], Executor],
    journal: Journal,
) -> tuple[Outcome, Review, str | None]:
    """Review the held-back reply; on concerns, escalate once when the policy says so. Returns the outcome
    to print, the review, and why an escalation failed (the first reply is then printed, and route exits 7)."""
    assert plan.review is not None and outcome.final is not None
    quiet = _Quiet()
    reviewing = Reviewing(  # the review and the escalated answer are written ahead, like every attempt
        plan, policy, environment, lambda on: executor_with(quiet, "escalate", on, False), journal.done, journal.ahead
    )
    review = reviewing.review(outcome.final.alias, outcome.text)
    settings = plan.review.settings
    if review.verdict != Verdict.CONCERNS or settings.on_concerns != "escalate":
        return outcome, review, None
    if settings.escalate_to == outcome.final.alias:
        return outcome, review, None  # already the strongest the policy names: the concerns are shown
    try:
        escalated, second = reviewing.escalate(review, outcome.final.alias, call_for(plan.request.prompt()))
    except ProviderFailure as failure:
        return outcome, review, failure.message
    merged = Outcome(escalated.text, [*outcome.attempts, *escalated.attempts], escalated.final)
    return merged, second, None


class _Quiet:
    """An escalation's reply is held back like the first, and its notices would only repeat the verdict."""

    def emit(self, text: str) -> None:  # pragma: no cover - held back: nothing is emitted
        pass

    def notice(self, message: str) -> None:
        pass


def _keep(
    keep: Callable[[Plan, Outcome, bool], str | None] | None,
    plan: Plan,
    outcome: Outcome,
    output: TerminalOutput,
    interrupted: bool,
) -> None:
    if keep is None:
        return
    notice = keep(plan, outcome, interrupted)
    if notice:
        output.notice(notice)


def _say_stopped(output: TerminalOutput, stop: BaseException | None) -> None:
    """One line on stderr; "kept" only when part of a reply was printed. After SIGHUP the terminal may be
    gone: nothing written to it may stop the recording that follows."""
    what = f"stopped by {stop.signal_name}" if isinstance(stop, Stopped) else "interrupted"
    with contextlib.suppress(OSError, OutputClosed):
        output.finish()
        output.notice(f"{what}; the partial reply above is kept" if output.wrote else what)


def _record(journal: Journal, output: TerminalOutput, keep_going: bool = False) -> None:
    """Settle the attempts in the ledger, after the reply is out. A failure raises LedgerError (exit 8),
    or, when another error is already on its way out (`keep_going`), becomes a notice."""
    from routecli.errors import LedgerError

    try:
        for line in journal.settle():
            output.notice(line)
    except LedgerError as error:
        if not keep_going:
            raise
        with contextlib.suppress(OSError):
            output.notice(f"error: {error.message}")
