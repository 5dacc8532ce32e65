"""`route ask`, `route summarize` and `route explain`: one request, planned the same way, run or shown."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from routecli.cli.app import ExactOpt, JsonOpt, NoColorOpt, app
from routecli.cli.request import CommandLine, request_command

if TYPE_CHECKING:
    from routecli.paths import Paths
    from routecli.policy.types import Policy
    from routecli.routing.plan import Plan
    from routecli.run.state import World


def load(policy_path: str | None, discover: bool = False, local: bool = False) -> tuple[Policy, Paths]:
    """The effective policy and the paths; with `discover`, plus the local servers that answer (local/discover.py)."""
    from routecli.paths import get_paths
    from routecli.policy.load import load_policy

    paths = get_paths()
    policy = load_policy(policy_path, paths.config_dir, paths.cache_dir)
    paths = paths.with_ledger_url(policy.ledger_url)
    _policy_notices(policy, paths, named=bool(policy_path or os.environ.get("ROUTE_POLICY")))
    if discover:
        from routecli.local.discover import apply

        policy = apply(policy, paths, local_only=local)
    return policy, paths


def ledger_paths(policy_path: str | None) -> Paths:
    """The paths with the ledger this run uses: ROUTE_LEDGER_URL, else the policy's ledger.url (the policy is
    read only when the environment does not say), else the file in the data folder."""
    from routecli.paths import get_paths
    from routecli.policy.load import load_policy

    paths = get_paths()
    if paths.ledger_url is not None:
        return paths
    return paths.with_ledger_url(load_policy(policy_path, paths.config_dir, paths.cache_dir).ledger_url)


def _policy_notices(policy: Policy, paths: Paths, named: bool) -> None:
    """Say when ./routes.yaml is ignored until trusted, and when a trusted one changes where keys are sent."""
    from routecli.policy.trust import folder_policy
    from routecli.ui.render import notice

    folder = folder_policy(policy.sources, paths.config_dir, named)
    if folder.ignored is not None:
        notice("./routes.yaml is not applied: it is not trusted (it could send your keys elsewhere); "
               "read it, then `route policy trust` to apply it")
    if folder.key_routing:
        notice(f"./routes.yaml (trusted) changes where keys are sent: {', '.join(folder.key_routing)}")


def _plan(line: CommandLine, command: str) -> tuple[Policy, Paths, World, Plan, tuple[str, ...]]:
    """Read everything once (policy, input, prices, keys, cooldowns, spend), then plan."""
    from routecli.routing.inputs import as_summary, gather
    from routecli.routing.plan import make_plan
    from routecli.run.state import read_world

    policy, paths = load(line.policy_path, discover=True, local=line.options.local_only)
    request = gather(line.prompt, line.files, line.system)
    if command == "summarize":
        request = as_summary(request)
    world = read_world(policy, paths, repair=command != "explain")
    plan = make_plan(request, policy, world.prices, world.state, line.options, allow_map_reduce=command != "ask")
    return policy, paths, world, plan, (*request.notices, *world.notices)


@app.command()
@request_command(display=False, without=("truncate",))
def explain(
    line: CommandLine, exact_tokens: ExactOpt = False, json_out: JsonOpt = False, no_color: NoColorOpt = False
) -> None:
    """Dry run: show which model would take the prompt, the candidates' verdicts, and why. Calls no model."""
    from routecli.errors import NoModelError
    from routecli.routing.plan import require_model
    from routecli.ui.policy_view import masked
    from routecli.ui.render import decision_dict, explain_report, mapreduce_report, notice, print_json

    _, _, _, plan, notices = _plan(line, "explain")
    for text in notices:
        notice(text)
    if json_out:
        data = decision_dict(plan.decision)
        data["plan"] = plan.mapreduce.as_dict() if plan.mapreduce else {"kind": "single", "calls": 1}
        print_json(masked(data))
    else:
        explain_report(plan.decision, no_color)
        if plan.mapreduce:
            mapreduce_report(plan.mapreduce)
    try:
        require_model(plan)
    except NoModelError as exc:
        # No provider is reachable from this machine (no keys, no local server, cooling down): showing that
        # is what a dry run is for, so the report stands (exit 0). A pinned model that cannot run, an input
        # too large for every window or a budget refusal are about the request itself, and keep their codes.
        if line.options.pinned is not None:
            raise
        notice(f"{exc.message}; `route ask` would stop here (exit {exc.exit_code})")


def _run(line: CommandLine, command: str) -> None:
    from dataclasses import replace

    from routecli.run.request import run_request

    policy, paths, world, plan, notices = _plan(line, command)
    display = line.display
    if policy.log_prompts and not display.log_prompts:
        display = replace(display, log_prompts=True)
    code = run_request(plan, policy, paths, world.environment, display, command, notices)
    if code:
        raise typer.Exit(code)


@app.command()
@request_command()
def ask(line: CommandLine) -> None:
    """Ask the cheapest capable model; the reply streams to stdout, everything else to stderr."""
    _run(line, "ask")


@app.command()
@request_command(without=("task", "truncate"), task="summarize")
def summarize(line: CommandLine) -> None:
    """Summarize text from stdin, -f files, or the argument (`cat big.txt | route summarize`)."""
    _run(line, "summarize")
