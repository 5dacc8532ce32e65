"""`route models`, `route costs`, `route stats` and `route paths`: what route knows, and what it has spent."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from routecli.cli.app import JsonOpt, NoColorOpt, PolicyOpt, app
from routecli.cli.ask import ledger_paths, load
from routecli.cli.completion import complete_group


@app.command()
def models(
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """The model catalog: prices per million tokens, windows, tiers, and whether each provider's key is set."""
    from routecli.policy.environment import read_environment
    from routecli.policy.prices import resolve_prices
    from routecli.ui.policy_view import masked
    from routecli.ui.render import models_dict, models_report, print_json

    loaded_policy, paths = load(policy, discover=True)
    prices = resolve_prices(loaded_policy, paths.price_cache)
    environment = read_environment(loaded_policy)
    keys = {name: environment.has_key(name) for name in loaded_policy.providers}
    local = environment.local_enabled
    if json_out:
        print_json(masked(models_dict(loaded_policy, prices, keys, local), loaded_policy))
    else:
        models_report(loaded_policy, prices, keys, local, no_color)


SinceOpt = Annotated[str | None, typer.Option("--since", help="From this time: 7d, 24h, 2w, today, 2026-11-01.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Up to this time (a bare date includes that day).")]


@app.command()
def costs(
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by day, model, provider, task, profile, status, command, user, host or tag; repeatable.",
            autocompletion=complete_group,
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    vs: Annotated[
        str | None, typer.Option("--vs", help="Price the same usage at this model's rates: the saving.")
    ] = None,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """Spending from the local ledger: calls, failures, tokens and cost, grouped, and what routing saved."""
    from routecli.ledger.reports import cost_report, parse_range
    from routecli.ui.render import print_json
    from routecli.ui.report_view import costs_csv, costs_table

    groups = [part.strip() for item in by or [] for part in item.split(",") if part.strip()]
    baseline = None
    if vs:  # the policy is read once: for the baseline's price and for where the ledger is
        from routecli.policy.prices import resolve_prices

        loaded_policy, paths = load(policy)
        loaded_policy.model(vs)  # unknown alias: a usage error
        baseline = (vs, resolve_prices(loaded_policy, paths.price_cache).get(vs))
    else:
        paths = ledger_paths(policy)
    from routecli.ledger.target import ledger_target

    report = cost_report(ledger_target(paths), groups, *parse_range(since, until), baseline)
    if json_out:
        print_json(report.as_dict())
    elif csv_out:
        costs_csv(report)
    else:
        costs_table(report, no_color)


@app.command()
def stats(
    since: Annotated[str, typer.Option("--since", help="From this time: 7d, 30d, today, a date.")] = "30d",
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """Reliability and speed per model and provider: success, fallbacks, latency p50/p95, and advice."""
    from routecli.errors import PolicyError
    from routecli.ledger.decisions import decision_history
    from routecli.ledger.reports import parse_when, stats_report
    from routecli.ledger.target import ledger_target
    from routecli.paths import get_paths
    from routecli.policy.prices import resolve_prices
    from routecli.run.advice import replay_state, tier_advice
    from routecli.ui.render import notice, print_json
    from routecli.ui.report_view import stats_table

    start = parse_when(since)
    advice = []
    try:
        loaded_policy, paths = load(policy)  # read once: for where the ledger is and for the advice's replay
    except PolicyError as error:  # the numbers do not depend on the policy: show them, without the replay
        notice(f"no min_tier advice: {error.message}")
        report = stats_report(ledger_target(get_paths()), start)
    else:
        report = stats_report(ledger_target(paths), start)
        history = decision_history(paths.ledger, start)
        prices = resolve_prices(loaded_policy, paths.price_cache)
        advice = tier_advice(loaded_policy, prices, replay_state(loaded_policy, history), history)
    report.recommendations += [item.text for item in advice]
    if json_out:
        print_json({**report.as_dict(), "tier_advice": [item.as_dict() for item in advice]})
    else:
        stats_table(report, no_color)


@app.command()
def paths(policy: PolicyOpt = None, json_out: JsonOpt = False) -> None:
    """Where route keeps its policy, ledger, history, cooldowns and caches (ROUTE_HOME moves them all)."""
    from routecli.ledger.pending_files import pending_path
    from routecli.ledger.target import ledger_target
    from routecli.policy.load import default_policy_path, user_policy_path
    from routecli.ui.render import print_json
    from routecli.ui.report_view import paths_report

    where = ledger_paths(policy)
    user = user_policy_path(policy, where.config_dir)
    target = ledger_target(where, need_driver=False)
    ledger = target.path
    if target.shared:
        shown = f"{target.describe()} (shared, PostgreSQL)"
    else:
        shown = str(ledger) + (f" ({ledger.stat().st_size:,} bytes)" if ledger.exists() else " (not created yet)")
    info = {
        "default_policy": str(default_policy_path()),
        "user_policy": str(user) if user else f"(none; would be read from {where.user_policy})",
        "config_dir": str(where.config_dir),
        "ledger": shown,
        "ledger_pending": str(pending_path(ledger)) + ("" if pending_path(ledger).exists() else " (none)"),
        "history": str(where.history) + ("" if where.history.exists() else " (not created yet)"),
        "cooldowns": str(where.cooldowns),
        "cache_dir": str(where.cache_dir),
        "route_home": os.environ.get("ROUTE_HOME") or "(unset: platform directories)",
    }
    if json_out:
        print_json(info)
    else:
        paths_report(info)


# ----------------------------------------------------------------------------- entry point


