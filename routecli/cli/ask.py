"""`route ask`, `route summarize` and `route explain`: one request, planned the same way, run or shown."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from routecli.cli.app import CidOpt, ContinueOpt, ExactOpt, JsonOpt, NoColorOpt, NoLogOpt, app
from routecli.cli.request import CommandLine, request_command

if TYPE_CHECKING:
    from routecli.paths import Paths
    from routecli.policy.types import Policy
    from routecli.routing.plan import Plan
    from routecli.run.consult import Planned
    from routecli.run.conversation import Conversation
    from routecli.run.journal import Journal
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

    folder = folder_policy(policy.sources, paths.config_dir, named, paths.cache_dir)
    if folder.ignored is not None:
        notice("./routes.yaml is not applied: it is not trusted (it could send your keys elsewhere); "
               "read it, then `route policy trust` to apply it")
    if folder.key_routing:
        notice(f"./routes.yaml (trusted) changes where keys are sent: {', '.join(folder.key_routing)}")


def _plan(
    line: CommandLine, command: str, follow: tuple[bool, str | None] = (False, None)
) -> tuple[Policy, Paths, World, Planned, Conversation, tuple[str, ...]]:
    """Read everything once (policy, input, prices, keys, cooldowns, spend, the conversation continued), then
    plan. `follow` is (--continue, --cid). `route explain` never calls the model classifier; `ask` and
    `summarize` do when the policy names one and the learned one is unsure."""
    from dataclasses import replace

    from routecli.errors import UsageError
    from routecli.routing.inputs import as_summary, gather
    from routecli.run.consult import plan_request
    from routecli.run.conversation import Conversation, load_conversation
    from routecli.run.state import read_world
    from routecli.ui.secrets_view import notice_text

    continuing, cid = follow
    if cid is not None and not cid.strip():
        raise UsageError("--cid needs a conversation id (see `route log`); leave it out to start a new conversation")
    policy, paths = load(line.policy_path, discover=True, local=line.options.local_only)
    request = gather(line.prompt, line.files, line.system)
    if command == "summarize":
        request = as_summary(request)
    conversation = load_conversation(paths, cid) if continuing or cid else Conversation.new()
    if conversation.turns:
        request = replace(request, history=conversation.turns, system=request.system or conversation.system)
    world = read_world(policy, paths, repair=command != "explain")
    calls, map_reduce = command != "explain", command != "ask"
    planned = plan_request(
        request, policy, world, line.options, paths, allow_map_reduce=map_reduce, may_call=calls,
        follow=conversation.follow_up, known_keys=world.environment.held_keys(policy),
        journal_for=lambda plan: _journal(plan, policy, paths, line, command),
    )
    secret = notice_text(planned.plan.decision) if command != "explain" else None  # explain shows them in its report
    verbose = tuple(planned.notices) if line.display.verbose else ()
    notices = (*conversation.notices, *request.notices, *world.notices, *verbose, *([secret] if secret else []),
               *_left_out(world, planned.plan, command))
    return policy, paths, world, planned, conversation, notices


def _left_out(world: World, plan: Plan, command: str) -> tuple[str, ...]:
    """A provider whose key or base URL can never work, while another model answers: say so (explain shows it in
    its table; with no model at all, the error names it)."""
    if command == "explain" or plan.decision.chosen is None:
        return ()
    return tuple(f"{text}: {name} is left out" for name, text in world.environment.problems().items())


def _journal(plan: Plan, policy: Policy, paths: Paths, line: CommandLine, command: str) -> Journal:
    """The journal a side call made while planning (the model classifier's) is written ahead and settled in."""
    from routecli.run.journal import Journal
    from routecli.ui.render import notice

    display = line.display
    return Journal(plan, paths, command, display.log_prompts or policy.log_prompts, notice, display.tag,
                   budgets=policy.budgets)


@app.command()
@request_command(display=False, without=("truncate",))
def explain(
    line: CommandLine,
    exact_tokens: ExactOpt = False,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
    continue_conversation: ContinueOpt = False,
    cid: CidOpt = None,
) -> None:
    """Dry run: show which model would take the prompt, the candidates' verdicts, and why. Calls no model."""
    from routecli.errors import NoModelError, SecretError
    from routecli.routing.plan import require_model, single_call_worst
    from routecli.ui.policy_view import masked
    from routecli.ui.render import (
        decision_dict,
        explain_report,
        mapreduce_report,
        notice,
        print_json,
        side_calls_report,
        single_plan_report,
    )

    policy, _, _, planned, conversation, notices = _plan(line, "explain", (continue_conversation, cid))
    plan = planned.plan
    for text in notices:
        notice(text)
    if json_out:
        data = decision_dict(plan.decision)
        data["plan"] = plan.mapreduce.as_dict() if plan.mapreduce else single_call_worst(plan, policy)
        data["review"] = plan.review.as_dict() if plan.review else None
        data["classifier"] = plan.consult.as_dict() if plan.consult else None
        worst = plan.worst_case_cost
        data["worst_case_cost_usd"] = None if worst is None else float(worst)
        if conversation.exchanges:
            data["conversation"] = {"cid": conversation.cid, "exchanges": conversation.exchanges,
                                    "continuity": plan.continuity.as_dict() if plan.continuity else None}
        print_json(masked(data))
    else:
        explain_report(plan.decision, no_color)
        if conversation.exchanges:
            from routecli.ui.history_view import continuity_report

            continuity_report(conversation.cid, conversation.exchanges, plan.continuity)
        if plan.mapreduce:
            mapreduce_report(plan.mapreduce)
        elif plan.decision.chosen:
            single_plan_report(single_call_worst(plan, policy))
        side_calls_report(plan)
    try:
        require_model(plan)
    except SecretError as exc:  # the decision a dry run is for: shown above (Secrets), and what ask would do
        notice(f"{exc.message}; `route ask` would stop here (exit {exc.exit_code})")
    except NoModelError as exc:
        # No provider is reachable from this machine (no keys, no local server, cooling down): showing that
        # is what a dry run is for, so the report stands (exit 0). A pinned model that cannot run, an input
        # too large for every window or a budget refusal are about the request itself, and keep their codes.
        if line.options.pinned is not None:
            raise
        notice(f"{exc.message}; `route ask` would stop here (exit {exc.exit_code})")


def _run(line: CommandLine, command: str, no_log: bool, follow: tuple[bool, str | None] = (False, None)) -> None:
    from dataclasses import replace

    from routecli.run.conversation import Keeper
    from routecli.run.request import run_request

    policy, paths, world, planned, conversation, notices = _plan(line, command, follow)
    plan = planned.plan
    display = line.display
    if policy.log_prompts and not display.log_prompts:
        display = replace(display, log_prompts=True)
    if plan.continuity is not None and not plan.continuity.stays:
        notices = (*notices, plan.continuity.text)  # a conversation that moves says so, panel or not
    keeper = Keeper.for_run(paths, command, conversation, no_log)
    if not keeper.enabled and (follow[0] or follow[1]):  # the follow-up is sent with its context, then forgotten
        why = "--no-log" if no_log else "`route log off`"
        notices = (*notices, f"this turn is not kept ({why}): a later -c continues from the turn before it")
    code = run_request(plan, policy, paths, world.environment, display, command, notices, planned.attempts, keep=keeper)
    if code:
        raise typer.Exit(code)


@app.command()
@request_command()
def ask(
    line: CommandLine, continue_conversation: ContinueOpt = False, cid: CidOpt = None, no_log: NoLogOpt = False
) -> None:
    """Ask the cheapest capable model; the reply streams to stdout, everything else to stderr."""
    _run(line, "ask", no_log, (continue_conversation, cid))


@app.command()
@request_command(without=("task", "truncate"), task="summarize")
def summarize(line: CommandLine, no_log: NoLogOpt = False) -> None:
    """Summarize text from stdin, -f files, or the argument (`cat big.txt | route summarize`)."""
    _run(line, "summarize", no_log)
