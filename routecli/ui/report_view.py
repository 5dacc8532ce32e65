"""Rendering `route costs`, `route stats`, `route cooldowns` and `route paths`: Rich tables for people, CSV."""

from __future__ import annotations

import csv
import math
import sys
from datetime import datetime
from typing import Any

from routecli.ledger.cooldowns import Cooldown
from routecli.ledger.reports import CostReport, StatsReport, Totals
from routecli.ui.fit import keep_columns, wrap
from routecli.ui.render import console, money


def _cost(totals: Totals) -> str:
    return money(totals.cost) + (f" (+{totals.unpriced} unpriced)" if totals.unpriced else "")


def costs_table(report: CostReport, no_color: bool = False) -> None:
    from rich.table import Table

    out = console(sys.stdout, no_color)
    if report.total.calls == 0:
        out.print("No calls recorded" + (" in this period." if report.since or report.until else " yet."))
        _pending(out, report)
        if report.savings is not None:
            out.print(f"Nothing to compare with {report.savings.vs}.")
        return
    numbers = ["requests", "attempts", "failed", "input tok", "output tok", "cost"]
    header = [*report.by, *numbers]
    rows = [[*(str(key[name]) for name in report.by), *_numbers(totals)] for key, totals in report.groups]
    total = [*(["total"] + [""] * (len(report.by) - 1) if report.by else []), *_numbers(report.total)]
    widths = [max(len(row[i]) for row in [header, *rows, total]) for i in range(len(header))]
    # On a narrow terminal the token counts go first, then failures: the groups, requests, attempts and cost stay.
    groups = len(report.by)
    kept = keep_columns(widths, (groups + 3, groups + 4, groups + 2), out.width)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for index in kept:
        table.add_column(header[index], justify="left" if index < groups else "right")
    for row in rows:
        table.add_row(*(row[i] for i in kept))
    if report.by:
        table.add_section()
    table.add_row(*(total[i] for i in kept), style="bold")
    out.print(table)
    _pending(out, report)
    if report.unsettled.calls:
        out.print(
            f"{report.unsettled.calls} call(s) unsettled: written ahead and never settled (still running, or route "
            f"was killed), counted at their estimated worst case, {_cost(report.unsettled)}."
        )
    if report.total.unpriced:
        out.print(f"{report.total.unpriced} call(s) used a model with no known price: their cost is not in the totals.")
    savings = report.savings
    if savings is not None:
        left_out = (f"{savings.left_out} successful call(s) of a model with no known price are left out: what "
                    "they cost is unknown, not $0.") if savings.left_out else ""
        if savings.baseline == 0:
            out.print(f"No successful calls of known cost to price at {savings.vs}'s rates. {left_out}".rstrip())
        else:
            verdict = "saved" if savings.saved >= 0 else "cost more than"
            out.print(
                f"vs {savings.vs} for the same usage: {money(savings.baseline)} → actual {money(savings.actual)}; "
                f"routing {verdict} {money(abs(savings.saved))} ({abs(savings.fraction):.1%})"
            )
            if left_out:
                out.print(left_out)


def _pending(out: Any, report: CostReport) -> None:
    for path, rows in report.pending:
        out.print(
            f"{rows:,} row(s) pending in {path}, not counted here (the next run that can write the ledger "
            "imports them)."
        )


def _numbers(totals: Totals) -> list[str]:
    return [
        f"{totals.requests:,}",
        f"{totals.calls:,}",
        f"{totals.failed:,}",
        f"{totals.input_tokens:,}",
        f"{totals.output_tokens:,}",
        _cost(totals),
    ]


def costs_csv(report: CostReport) -> None:
    writer = csv.writer(sys.stdout)
    header = [
        *report.by,
        "calls",
        "failed",
        "requests",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cost_usd",
        "unpriced_calls",
    ]
    writer.writerow(header)
    rows = report.groups if report.by else [({}, report.total)]
    for key, t in rows:
        writer.writerow(
            [
                *(key[name] for name in report.by),
                t.calls,
                t.failed,
                t.requests,
                t.input_tokens,
                t.output_tokens,
                t.cached_input_tokens,
                f"{t.cost:f}",
                t.unpriced,
            ]
        )


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


STATS_DROP = (5, 7, 3)  # on a narrow terminal: ttft p95, total p95, fallback (success and the p50s stay)


def stats_table(report: StatsReport, no_color: bool = False) -> None:
    from rich.table import Table

    out = console(sys.stdout, no_color)
    if not report.models:
        out.print("No calls recorded yet.")
        return
    for title, rows, name in (
        ("models", [m.as_dict() for m in report.models], "alias"),
        ("providers", report.providers, "provider"),
    ):
        header = [name, "calls", "success", "fallback", "ttft p50", "ttft p95", "total p50", "total p95"]
        cells = [
            [
                row[name],
                f"{row['calls']:,}",
                f"{row['success_rate']:.0%}",
                f"{row['fallback_rate']:.0%}",
                _secs(row["first_token_p50_s"]),
                _secs(row["first_token_p95_s"]),
                _secs(row["total_p50_s"]),
                _secs(row["total_p95_s"]),
            ]
            for row in rows
        ]
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
        kept = keep_columns(widths, STATS_DROP, out.width)
        table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
        for index in kept:
            table.add_column(header[index], justify="left" if index == 0 else "right")
        for line in cells:
            table.add_row(*(line[i] for i in kept))
        out.print(table)
        out.print()
    if report.recommendations:
        out.print("[bold]Recommendations[/]")
        for line in report.recommendations:  # wrapped by hand to hang under the dash
            out.print("\n".join(wrap(f"- {line}", out.width, 2)), markup=False)
    else:
        out.print("No recommendations: nothing stands out.")


def paths_report(info: dict[str, Any], no_color: bool = False) -> None:
    width = max(len(k) for k in info)
    for key, value in info.items():
        sys.stdout.write(f"{key.ljust(width)}  {value}\n")


def cooldown_rows(
    entries: dict[str, Cooldown], known: tuple[dict[str, str], frozenset[str]], now: float
) -> list[dict[str, Any]]:
    """One row per cooldown in force, soonest over first: which model (None: all of the provider's), why, until.
    `known`: each model's provider, and the providers, from the policy."""
    from routecli.ledger.cooldowns import scope

    rows = []
    for key, entry in sorted(entries.items(), key=lambda item: item[1].until):
        kind, name = scope(key)
        rows.append(
            {
                "key": key,
                "alias": name if kind == "model" else None,
                "provider": name if kind == "provider" else known[0].get(name),
                "reason": entry.reason,
                "until": datetime.fromtimestamp(entry.until).astimezone().isoformat(timespec="seconds"),
                "seconds_left": math.ceil(entry.until - now),
            }
        )
    return rows


def _left(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def cooldowns_table(rows: list[dict[str, Any]], no_color: bool = False) -> None:
    from rich.table import Table

    out = console(sys.stdout, no_color)
    if not rows:
        out.print("No cooldowns in force.")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("model", "provider", "reason", "until", "left"):
        table.add_column(name, justify="right" if name == "left" else "left", no_wrap=name != "reason")
    for row in rows:
        until = datetime.fromisoformat(row["until"])
        table.add_row(
            row["alias"] or "(all its models)",
            row["provider"] or "?",
            row["reason"],
            until.strftime("%H:%M:%S" if until.date() == datetime.now().astimezone().date() else "%Y-%m-%d %H:%M"),
            _left(row["seconds_left"]),
        )
    out.print(table)
    out.print("[dim]`route cooldowns clear [MODEL]` lets route use them again[/]")
