"""Rendering `route costs`, `route stats` and `route paths` for people (Rich tables) and programs (CSV)."""

from __future__ import annotations

import csv
import sys
from typing import Any

from routecli.ledger.reports import CostReport, StatsReport, Totals
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
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in report.by:
        table.add_column(name)
    for name in ("calls", "failed", "input tok", "output tok", "cost"):
        table.add_column(name, justify="right")
    for key, totals in report.groups:
        table.add_row(*(str(key[name]) for name in report.by), *_numbers(totals))
    if report.by:
        table.add_section()
    table.add_row(
        *(["total"] + [""] * (len(report.by) - 1) if report.by else []), *_numbers(report.total), style="bold"
    )
    if not report.by:
        table.columns[0].header = "calls"
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
        if savings.baseline == 0:
            out.print(f"No successful calls to price at {savings.vs}'s rates.")
        else:
            verdict = "saved" if savings.saved >= 0 else "cost more than"
            out.print(
                f"vs {savings.vs} for the same usage: {money(savings.baseline)} → actual {money(savings.actual)}; "
                f"routing {verdict} {money(abs(savings.saved))} ({abs(savings.fraction):.1%})"
            )


def _pending(out: Any, report: CostReport) -> None:
    for path, rows in report.pending:
        out.print(
            f"{rows:,} row(s) pending in {path}, not counted here (the next run that can write the ledger "
            "imports them)."
        )


def _numbers(totals: Totals) -> list[str]:
    return [
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
        table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
        for column in (name, "calls", "success", "fallback", "ttft p50", "ttft p95", "total p50", "total p95"):
            table.add_column(column, justify="left" if column == name else "right")
        for row in rows:
            table.add_row(
                row[name],
                f"{row['calls']:,}",
                f"{row['success_rate']:.0%}",
                f"{row['fallback_rate']:.0%}",
                _secs(row["first_token_p50_s"]),
                _secs(row["first_token_p95_s"]),
                _secs(row["total_p50_s"]),
                _secs(row["total_p95_s"]),
            )
        out.print(table)
        out.print()
    if report.recommendations:
        out.print("[bold]Recommendations[/]")
        for line in report.recommendations:
            out.print(f"- {line}")
    else:
        out.print("No recommendations: nothing stands out.")


def paths_report(info: dict[str, Any], no_color: bool = False) -> None:
    width = max(len(k) for k in info)
    for key, value in info.items():
        sys.stdout.write(f"{key.ljust(width)}  {value}\n")
