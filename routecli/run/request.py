"""`route ask` and `route summarize`: plan, show the panel, execute, print the reply, report usage.

stdout carries the reply and nothing else; the panel, notices and the usage line go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from routecli.errors import EXIT_INTERRUPTED, ProviderFailure
from routecli.paths import Paths
from routecli.policy.environment import Environment
from routecli.policy.types import Policy
from routecli.routing.plan import Plan, require_model
from routecli.run.attempts import Attempt, CallSettings, Interrupted, Outcome, Output, OutputClosed
from routecli.run.executor import Executor
from routecli.run.failures import RateLimitPauses
from routecli.ui.display import Display

EXIT_PIPE_CLOSED = 141  # what a shell reports for a writer killed by SIGPIPE


class TerminalOutput:
    """Reply text to stdout as it arrives; notices to stderr."""

    def __init__(self, display: Display) -> None:
        self.display = display
        self.wrote = False
        self.ends_with_newline = True

    def emit(self, text: str) -> None:
        if not text:
            return
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            raise OutputClosed from None
        self.wrote = True
        self.ends_with_newline = text.endswith("\n")

    def notice(self, message: str) -> None:
        from routecli.ui.render import notice

        if self.display.quiet:
            return
        if self.wrote and not self.ends_with_newline and sys.stderr.isatty() and sys.stdout.isatty():
            sys.stderr.write("\n")  # do not glue the notice to a half-written line on the same screen
        notice(message)

    def finish(self, complete: bool = False) -> None:
        """End the reply with a newline, so the prompt (or the next reply in a file) does not follow it on the
        line. A complete reply always gets one; a partial one (failure, Ctrl-C) only on a terminal, so a pipe
        holds exactly the text that arrived."""
        if self.wrote and not self.ends_with_newline and (complete or sys.stdout.isatty()):
            try:
                sys.stdout.write("\n")
                sys.stdout.flush()
            except BrokenPipeError:
                raise OutputClosed from None


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (ValueError, OSError):
        return False


def run_request(
    plan: Plan,
    policy: Policy,
    paths: Paths,
    environment: Environment,
    display: Display,
    command: str,
    notices: tuple[str, ...] = (),
) -> int:
    from routecli.run.budget_hold import hold_budget
    from routecli.ui.render import notice

    with hold_budget(plan, policy, paths, display.tag, lambda text: None if display.quiet else notice(text)):
        return _run_request(plan, policy, paths, environment, display, command, notices)


def _run_request(
    plan: Plan,
    policy: Policy,
    paths: Paths,
    environment: Environment,
    display: Display,
    command: str,
    notices: tuple[str, ...] = (),
) -> int:
    from routecli.ui.render import print_json, show_panel, usage_line

    output = TerminalOutput(display)
    for line in notices:
        output.notice(line)
    if plan.truncation is not None:
        cut = plan.truncation
        output.notice(
            f"--truncate: input cut to {cut.kept_bytes:,} of {cut.original_bytes:,} bytes to fit {cut.to_fit}'s window"
        )
    decision = plan.decision
    request = plan.request  # --truncate may have cut it
    options = plan.options
    require_model(plan)
    wants_panel = display.verbose or (_stderr_is_terminal() and not display.quiet and not display.json)
    if plan.mapreduce is None and wants_panel:
        show_panel(decision, display.no_color)
    validate = decision.validate
    held_back = display.json or not display.stream or validate

    def call_for(prompt: str) -> CallSettings:
        return CallSettings(request.system, prompt, not held_back, display.stream, validate)

    attempts: list[tuple[str | None, Attempt]] = []
    pauses = RateLimitPauses()  # shared by parallel chunk calls: a 429 pauses all calls to that provider

    def executor_for(out: Output, on_attempt: Callable[[Attempt], None]) -> Executor:
        return Executor(policy, environment, plan.prices, paths, out, on_attempt=on_attempt, pauses=pauses)

    try:
        if plan.mapreduce is not None:
            from routecli.run.mapreduce import run_map_reduce

            show = _stderr_is_terminal() and not display.quiet
            final = run_map_reduce(plan, plan.mapreduce, executor_for, output, call_for, attempts, show)
            outcome = Outcome(final.text, [a for _, a in attempts], final.final)
        else:
            executor = executor_for(output, lambda attempt: attempts.append((None, attempt)))
            outcome = executor.run(decision, options, call_for(request.prompt()))
    except Interrupted as stop:
        if display.json:
            partial = Outcome(stop.outcome.text, [a for _, a in attempts])
            print_json(result_dict(plan, partial, command, error="interrupted"))
        elif not stop.closed:
            output.finish()
            output.notice("interrupted; the partial reply above is kept")
        _record(plan, paths, attempts, command, display, output, keep_going=True)
        return EXIT_PIPE_CLOSED if stop.closed else EXIT_INTERRUPTED
    except ProviderFailure as failure:
        # The one-line error and exit code come from cli.main; with --json the details go to stdout too.
        if display.json:
            failed = Outcome(text="", attempts=[a for _, a in attempts])
            print_json(result_dict(plan, failed, command, error=failure.message))
        output.finish()
        _record(plan, paths, attempts, command, display, output, keep_going=True)
        raise
    code = 0
    if display.json:
        print_json(result_dict(plan, outcome, command))
    else:
        if held_back:
            try:
                output.emit(outcome.text)
            except OutputClosed:
                code = EXIT_PIPE_CLOSED
        if not code:
            try:
                output.finish(complete=True)
            except OutputClosed:
                code = EXIT_PIPE_CLOSED
        if (display.usage or display.verbose) and not code:
            sys.stderr.write(usage_line(outcome) + "\n")
    _record(plan, paths, attempts, command, display, output)  # after the reply: never delays it
    return code


def _record(
    plan: Plan,
    paths: Paths,
    attempts: list[tuple[str | None, Attempt]],
    command: str,
    display: Display,
    output: TerminalOutput,
    keep_going: bool = False,
) -> None:
    """Write the attempts to the ledger, after the reply is out. A failure raises LedgerError (exit 8),
    or, when another error is already on its way out (`keep_going`), becomes a notice."""
    from routecli.errors import LedgerError
    from routecli.ledger import attribution
    from routecli.ledger.record import record
    from routecli.ledger.target import ledger_target
    from routecli.run.record import rows_for

    try:
        by = attribution.current(display.tag)
        notice = record(ledger_target(paths), rows_for(plan, attempts, command, display.log_prompts, by))
        if notice:
            output.notice(notice)
    except LedgerError as error:
        if not keep_going:
            raise
        output.notice(f"error: {error.message}")


def result_dict(plan: Plan, outcome: Outcome, command: str, error: str | None = None) -> dict[str, Any]:
    """The `--json` shape of `route ask` / `route summarize`."""
    final = outcome.final
    cost = outcome.cost_usd
    return {
        "command": command,
        "reply": outcome.text,
        "ok": error is None,
        "error": error,
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
        "attempts": [a.as_dict() for a in outcome.attempts],
        "plan": None if plan.mapreduce is None else plan.mapreduce.as_dict(),
    }
