"""Rendering `route replay` for people: how many requests would route differently, to what, and the cost."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from routecli.policy.prices import money

if TYPE_CHECKING:
    from routecli.run.replay import ReplayReport, Tally

MOVES_SHOWN = 12


def _difference(tally: Tally) -> str:
    delta = tally.replayed - tally.recorded
    if not tally.recorded:
        return money(delta)
    return f"{'+' if delta >= 0 else '-'}{money(abs(delta))} ({delta / tally.recorded:+.1%})"


def replay_report(report: ReplayReport, policy_name: str, ranged: bool = False, file: TextIO | None = None) -> None:
    out = file or sys.stdout
    write = lambda text="": out.write(text + "\n")  # noqa: E731 - a local shorthand
    if report.notice:
        write(f"note: {report.notice}")
    if not report.recorded:
        write("No requests recorded" + (" in this period." if ranged else " yet."))
        return
    total = report.total
    write(f"replayed {total.requests} of {report.recorded} recorded requests, no model called")
    write(f"policy: {policy_name} ({report.policy_hash})")
    write("world: every key present, no cooldowns, nothing spent; local servers only where")
    write("       the request used one")
    basis = report.basis
    if basis.get("text") or basis.get("approximate"):
        write(f"  from recorded facts: {basis.get('facts', 0)}; re-classified from the stored prompt "
              f"(--log-prompts): {basis.get('text', 0)}")
    if basis.get("approximate"):
        write(f"  {basis['approximate']} recorded before v{report.facts_version}: replayed from their task and "
              "reported input tokens at the base complexity (approximate)")
    if report.same_policy:
        write(f"  {report.same_policy} were decided under this same policy")
    for reason, count in report.skipped.most_common():
        write(f"  not replayable: {count} ({reason})")
    write()
    write(f"would route differently: {total.different} of {total.requests}"
          + (f" ({total.different / total.requests:.1%})" if total.requests else ""))
    for (before, after), count in report.moves.most_common(MOVES_SHOWN):
        write(f"  {before:<18} -> {after:<18} {count:>6}")
    if len(report.moves) > MOVES_SHOWN:
        write(f"  ... and {len(report.moves) - MOVES_SHOWN} more changes (--json lists all)")
    write()
    write(f"{'task':<10} {'requests':>8} {'changed':>8} {'recorded':>10} {'replayed':>10}  difference")
    for task, tally in sorted(report.by_task.items()):
        write(f"{task:<10} {tally.requests:>8} {tally.different:>8} {money(tally.recorded):>10} "
              f"{money(tally.replayed):>10}  {_difference(tally)}")
    write(f"{'total':<10} {total.requests:>8} {total.different:>8} {money(total.recorded):>10} "
          f"{money(total.replayed):>10}  {_difference(total)}")
    write("(cost: each request's successful attempt, its real tokens priced at the replayed")
    write(" model's rates)")
    if report.no_usage:
        write(f"{report.no_usage} request(s) had no successful attempt: not in the cost")
    if report.unpriced:
        write(f"{report.unpriced} request(s) involve a model with no known price: not in the cost")
