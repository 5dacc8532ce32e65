"""Rendering `route eval` for people: accuracy, per-task scores, a confusion matrix in 80 columns, the cost."""

from __future__ import annotations

import sys
from typing import TextIO

from routecli.policy.prices import money
from routecli.routing.evaluate import EvalReport

SHORT = {"chat": "chat", "summarize": "summ", "code": "code", "reasoning": "reas", "creative": "crea",
         "extract": "extr", "safety": "safe"}
MISSES_SHOWN = 10


def short(task: str) -> str:
    return SHORT.get(task, task[:4])


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def eval_report(report: EvalReport, source: str, seconds: float, file: TextIO | None = None) -> None:
    out = file or sys.stdout
    write = lambda text="": out.write(text + "\n")  # noqa: E731 - a local shorthand
    keys = "the real keys of this environment" if report.real_keys else "every provider's key assumed present"
    write(f"{source}: {report.total} prompts routed in {seconds:.2f} s, no model called")
    write(f"world: {keys}; no cooldowns, nothing spent,")
    write("       no local server: the same figures on every machine")
    write()
    write(f"accuracy  {_percent(report.accuracy)}  ({report.correct}/{report.total})")
    write()
    write(f"{'task':<10} {'count':>6} {'right':>6} {'accuracy':>9} {'precision':>10}")
    for score in report.tasks:
        write(f"{score.task:<10} {score.count:>6} {score.correct:>6} {_percent(score.accuracy):>9} "
              f"{_percent(score.precision):>10}")
    write("(accuracy of a task: the share of its prompts routed to it, i.e. its recall)")
    write()
    _confusion(report, write)
    if report.models.checked:
        write(f"acceptable model  {_percent(report.models.rate)} ({report.models.met}/{report.models.checked})")
    if report.tiers.checked:
        write(f"minimum tier met  {_percent(report.tiers.rate)} ({report.tiers.met}/{report.tiers.checked})")
    if report.models.checked or report.tiers.checked:
        write()
    _cost(report, write)
    if report.misses:
        write()
        write(f"misses ({len(report.misses)}" + (f", first {MISSES_SHOWN}" if len(report.misses) > MISSES_SHOWN else "")
              + "):")
        for miss in report.misses[:MISSES_SHOWN]:
            write(f"  line {miss.line}: {short(miss.expected)} -> {short(miss.got)}  {miss.prompt[:52]}")


def _confusion(report: EvalReport, write) -> None:  # type: ignore[no-untyped-def]
    labels = report.labels
    write("confusion (rows: expected task, columns: routed task)")
    write(f"{'':<6}" + "".join(f"{short(t):>7}" for t in labels))
    for expected in labels:
        cells = [report.confusion.get((expected, got), 0) for got in labels]
        write(f"{short(expected):<6}" + "".join(f"{(n if n else '.'):>7}" for n in cells))
    write()


def _cost(report: EvalReport, write) -> None:  # type: ignore[no-untyped-def]
    outputs = ", ".join(f"{short(t)} {n}" for t, n in report.output_tokens.items())
    write(f"routed cost of the set  {money(report.routed_cost)}")
    write("  (estimated: each prompt's tokens, plus its task's expected output in tokens:")
    write(f"   {outputs})")
    if report.unrouted:
        write(f"  {report.unrouted} prompt(s) had no eligible model and are not in the cost")
    if report.unpriced:
        write(f"  {report.unpriced} prompt(s) went to a model with no known price and are not in the cost")
    if report.vs is not None:
        if report.vs_cost is None:
            write(f"  {report.vs} has no known price: nothing to compare with")
        else:
            saved = report.vs_cost - report.routed_cost
            fraction = f" ({saved / report.vs_cost:.1%})" if report.vs_cost else ""
            verdict = "saves" if saved >= 0 else "costs"
            write(f"always {report.vs}  {money(report.vs_cost)}: routing {verdict} {money(abs(saved))}{fraction}")
    if report.chosen:
        import textwrap

        chosen = ", ".join(f"{alias} {n}" for alias, n in report.chosen.items())
        for line in textwrap.wrap(f"models chosen: {chosen}", 78, subsequent_indent="  "):
            write(line)
