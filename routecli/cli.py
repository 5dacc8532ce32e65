"""The `route` command line: options, wiring and exit codes. No routing logic lives here."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from . import __version__
from .completion import complete_group, complete_model, complete_profile, complete_task
from .errors import EXIT_BUG, RouteError
from .paths import get_paths

app = typer.Typer(
    name="route",
    help="Send every prompt to the cheapest LLM able to do it well, and prove it did.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# ----------------------------------------------------------------------------- shared options

PromptArg = Annotated[
    str | None,
    typer.Argument(
        help="The prompt (instruction). Text on stdin and -f files are attached after it.", show_default=False
    ),
]
FilesOpt = Annotated[
    list[str] | None,
    typer.Option("--file", "-f", help="Attach a file ('-' for stdin, globs allowed); repeatable.", show_default=False),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        "-t",
        help="Force the task: chat, summarize, code, reasoning, creative, extract, safety.",
        autocompletion=complete_task,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Pin a model by its alias (see `route models`).", autocompletion=complete_model
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Routing profile from the policy: cheap, balanced, best, ...",
        autocompletion=complete_profile,
    ),
]
ComplexityOpt = Annotated[
    int | None,
    typer.Option(
        "--complexity", "-c", min=1, max=10, help="1-10: low routes to cheap/local models, high to the strongest."
    ),
]
LocalOpt = Annotated[bool, typer.Option("--local", help="Only use local models (Ollama, LM Studio, llama.cpp).")]
InteractiveOpt = Annotated[
    bool | None,
    typer.Option(
        "--interactive/--batch", help="Prefer fast models (default: on when stdin and stdout are a terminal)."
    ),
]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Maximum output tokens for the reply.")]
PolicyOpt = Annotated[
    str | None,
    typer.Option(
        "--policy", help="A routes.yaml merged over the default (else $ROUTE_POLICY, ./routes.yaml, config dir)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")]
SystemOpt = Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")]
ExactOpt = Annotated[bool, typer.Option("--exact-tokens", help="Always count tokens exactly (loads the tokenizer).")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.", hidden=True)]


def _interactive(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, OSError):
        return False


def _load(policy_path: str | None, discover: bool = False, local: bool = False):
    """The effective policy and the paths; with `discover`, plus the local servers that answer (discover.py)."""
    from .policy import load_policy

    paths = get_paths()
    policy = load_policy(policy_path, paths.config_dir, paths.cache_dir)
    if discover:
        from .discover import apply

        policy = apply(policy, paths, local_only=local)
    return policy, paths


# ----------------------------------------------------------------------------- commands


def _version(value: bool) -> None:
    if value:
        typer.echo(f"route {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Send every prompt to the cheapest LLM able to do it well, and prove it did."""


@app.command()
def explain(
    prompt: PromptArg = None,
    file: FilesOpt = None,
    task: TaskOpt = None,
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    complexity: ComplexityOpt = None,
    local: LocalOpt = False,
    interactive: InteractiveOpt = None,
    max_tokens: MaxTokensOpt = None,
    system: SystemOpt = None,
    policy: PolicyOpt = None,
    exact_tokens: ExactOpt = False,
    max_cost: MaxCostOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """Dry run: show which model would take the prompt, the candidates' verdicts, and why. Calls no model."""
    from decimal import Decimal

    from .errors import NoModelError
    from .inputs import gather
    from .planner import make_plan, require_model
    from .render import decision_dict, explain_report, mapreduce_report, notice, print_json
    from .router import Options

    loaded_policy, paths = _load(policy, discover=True, local=local)
    request = gather(prompt, file, system)
    for line in request.notices:
        notice(line)
    options = Options(
        pinned=model,
        profile=profile,
        local_only=local,
        interactive=_interactive(interactive),
        max_tokens=max_tokens,
        request_budget=None if max_cost is None else Decimal(str(max_cost)),
    )
    plan = make_plan(request, loaded_policy, paths, options, task, complexity, exact_tokens)
    if json_out:
        data = decision_dict(plan.decision)
        data["plan"] = plan.mapreduce.as_dict() if plan.mapreduce else {"kind": "single", "calls": 1}
        print_json(data)
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
        if model is not None:
            raise
        notice(f"{exc.message}; `route ask` would stop here (exit {exc.exit_code})")


@app.command()
def models(
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """The model catalog: prices per million tokens, windows, tiers, and whether each provider's key is set."""
    from .prices import resolve_prices
    from .render import models_dict, models_report, print_json
    from .state import api_key, local_enabled

    loaded_policy, paths = _load(policy, discover=True)
    prices = resolve_prices(loaded_policy, paths.price_cache)
    keys = {name: api_key(p) is not None for name, p in loaded_policy.providers.items()}
    local = local_enabled(loaded_policy)
    if json_out:
        print_json(models_dict(loaded_policy, prices, keys, local))
    else:
        models_report(loaded_policy, prices, keys, local, no_color)


NoStreamOpt = Annotated[bool, typer.Option("--no-stream", help="Wait for the whole reply, then print it.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No notices on stderr (errors still show).")]
UsageFlag = Annotated[bool, typer.Option("--usage", "-u", help="After the reply, a usage and cost line on stderr.")]
LogPromptsOpt = Annotated[
    bool, typer.Option("--log-prompts", help="Store the prompt text in the ledger (off unless the policy says so).")
]
MaxCostOpt = Annotated[
    float | None, typer.Option("--max-cost", min=0.0, help="Refuse or downgrade if one call could cost more (USD).")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show the routing panel even when not on a terminal.")
]


def _call(
    command: str,
    prompt: str | None,
    file: list[str] | None,
    task: str | None,
    model: str | None,
    profile: str | None,
    complexity: int | None,
    local: bool,
    interactive: bool | None,
    max_tokens: int | None,
    system: str | None,
    policy: str | None,
    no_stream: bool,
    json_out: bool,
    quiet: bool,
    usage: bool,
    verbose: bool,
    no_color: bool,
    log_prompts: bool,
    max_cost: float | None,
    truncate: bool = False,
) -> None:
    from decimal import Decimal

    from .inputs import as_summary, gather
    from .router import Options
    from .run import Display, run_request

    loaded_policy, paths = _load(policy, discover=True, local=local)
    request = gather(prompt, file, system)
    if command == "summarize":
        request = as_summary(request)
    options = Options(
        pinned=model,
        profile=profile,
        local_only=local,
        interactive=_interactive(interactive),
        max_tokens=max_tokens,
        request_budget=None if max_cost is None else Decimal(str(max_cost)),
    )
    display = Display(
        stream=not no_stream,
        json=json_out,
        quiet=quiet,
        usage=usage,
        verbose=verbose,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        log_prompts=log_prompts or loaded_policy.log_prompts,
    )
    code = run_request(request, loaded_policy, paths, options, display, task, complexity, command, truncate)
    if code:
        raise typer.Exit(code)


@app.command()
def ask(
    prompt: PromptArg = None,
    file: FilesOpt = None,
    task: TaskOpt = None,
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    complexity: ComplexityOpt = None,
    local: LocalOpt = False,
    interactive: InteractiveOpt = None,
    max_tokens: MaxTokensOpt = None,
    system: SystemOpt = None,
    policy: PolicyOpt = None,
    no_stream: NoStreamOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    usage: UsageFlag = False,
    verbose: VerboseOpt = False,
    no_color: NoColorOpt = False,
    log_prompts: LogPromptsOpt = False,
    max_cost: MaxCostOpt = None,
    truncate: Annotated[
        bool, typer.Option("--truncate", help="If the input fits no model, cut it to fit the largest window.")
    ] = False,
) -> None:
    """Ask the cheapest capable model; the reply streams to stdout, everything else to stderr."""
    _call(
        "ask",
        prompt,
        file,
        task,
        model,
        profile,
        complexity,
        local,
        interactive,
        max_tokens,
        system,
        policy,
        no_stream,
        json_out,
        quiet,
        usage,
        verbose,
        no_color,
        log_prompts,
        max_cost,
        truncate,
    )


@app.command()
def summarize(
    prompt: PromptArg = None,
    file: FilesOpt = None,
    model: ModelOpt = None,
    profile: ProfileOpt = None,
    complexity: ComplexityOpt = None,
    local: LocalOpt = False,
    interactive: InteractiveOpt = None,
    max_tokens: MaxTokensOpt = None,
    system: SystemOpt = None,
    policy: PolicyOpt = None,
    no_stream: NoStreamOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    usage: UsageFlag = False,
    verbose: VerboseOpt = False,
    no_color: NoColorOpt = False,
    log_prompts: LogPromptsOpt = False,
    max_cost: MaxCostOpt = None,
) -> None:
    """Summarize text from stdin, -f files, or the argument (`cat big.txt | route summarize`)."""
    _call(
        "summarize",
        prompt,
        file,
        "summarize",
        model,
        profile,
        complexity,
        local,
        interactive,
        max_tokens,
        system,
        policy,
        no_stream,
        json_out,
        quiet,
        usage,
        verbose,
        no_color,
        log_prompts,
        max_cost,
    )


SinceOpt = Annotated[str | None, typer.Option("--since", help="From this time: 7d, 24h, 2w, today, 2026-11-01.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Up to this time (a bare date includes that day).")]


@app.command()
def costs(
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by day, model, provider, task, profile, status or command; repeatable.",
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
    from .render import print_json
    from .report_view import costs_csv, costs_table
    from .reports import cost_report, parse_when

    paths = get_paths()
    groups = [part.strip() for item in by or [] for part in item.split(",") if part.strip()]
    baseline = None
    if vs:
        from .prices import resolve_prices

        loaded_policy, paths = _load(policy)
        loaded_policy.model(vs)  # unknown alias: a usage error
        baseline = (vs, resolve_prices(loaded_policy, paths.price_cache).get(vs))
    report = cost_report(
        paths.ledger,
        groups,
        parse_when(since) if since else None,
        parse_when(until, end=True) if until else None,
        baseline,
    )
    if json_out:
        print_json(report.as_dict())
    elif csv_out:
        costs_csv(report)
    else:
        costs_table(report, no_color)


@app.command()
def stats(
    since: Annotated[str, typer.Option("--since", help="From this time: 7d, 30d, today, a date.")] = "30d",
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """Reliability and speed per model and provider: success, fallbacks, latency p50/p95, and advice."""
    from .render import print_json
    from .report_view import stats_table
    from .reports import parse_when, stats_report

    report = stats_report(get_paths().ledger, parse_when(since))
    if json_out:
        print_json(report.as_dict())
    else:
        stats_table(report, no_color)


@app.command()
def paths(policy: PolicyOpt = None, json_out: JsonOpt = False) -> None:
    """Where route keeps its policy, ledger, cooldowns and caches (ROUTE_HOME moves them all)."""
    from .ledger import pending_path
    from .policy import default_policy_path, user_policy_path
    from .render import print_json
    from .report_view import paths_report

    where = get_paths()
    user = user_policy_path(policy, where.config_dir)
    ledger = where.ledger
    info = {
        "default_policy": str(default_policy_path()),
        "user_policy": str(user) if user else f"(none; would be read from {where.user_policy})",
        "config_dir": str(where.config_dir),
        "ledger": str(ledger) + (f" ({ledger.stat().st_size:,} bytes)" if ledger.exists() else " (not created yet)"),
        "ledger_pending": str(pending_path(ledger)) + ("" if pending_path(ledger).exists() else " (none)"),
        "cooldowns": str(where.cooldowns),
        "cache_dir": str(where.cache_dir),
        "route_home": os.environ.get("ROUTE_HOME") or "(unset: platform directories)",
    }
    if json_out:
        print_json(info)
    else:
        paths_report(info)


# ----------------------------------------------------------------------------- entry point


def main() -> None:
    """Console-script entry: user errors become one line and an exit code; bugs a short notice."""
    debug = "--debug" in sys.argv or os.environ.get("ROUTE_DEBUG", "") not in ("", "0")
    try:
        app()
    except RouteError as exc:
        from .render import error_line

        error_line(exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        finally:
            sys.exit(141)
    except Exception as exc:
        if debug:
            raise
        from .render import error_line

        error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(EXIT_BUG)


# Registering more commands on `app`: doctor, policy, completion; and route local setup|serve|status.
from . import cli_local, cli_tools  # noqa: E402,F401
