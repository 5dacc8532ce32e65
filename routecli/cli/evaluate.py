"""`route eval FILE` (the router over a labelled set, scored) and `route replay` (the ledger under another policy).
Neither calls a model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from routecli.cli.app import JsonOpt, PolicyOpt, ProfileOpt, app
from routecli.cli.ask import load
from routecli.cli.completion import complete_model
from routecli.cli.reports import SinceOpt, UntilOpt

if TYPE_CHECKING:
    from routecli.routing.evaluate import Floors

VsOpt = Annotated[
    str | None,
    typer.Option("--vs", help="Also price the whole set as if this model took every prompt.",
                 autocompletion=complete_model),
]


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="Labelled prompts: JSON lines or a YAML list of {prompt, task}.",
                                         metavar="FILE", show_default=False)],
    vs: VsOpt = None,
    min_accuracy: Annotated[
        float | None, typer.Option("--min-accuracy", min=0.0, max=1.0,
                                   help="Exit 9 if the overall accuracy is below this (for CI).")
    ] = None,
    min_task_accuracy: Annotated[
        list[str] | None, typer.Option("--min-task-accuracy",
                                       help="Exit 9 if a task's accuracy is below this: 0.85 for every task, or "
                                            "TASK=0.9 for one; repeatable.")
    ] = None,
    real_keys: Annotated[bool, typer.Option("--real-keys", help="Use this environment's keys instead of assuming "
                                                                "every key is present.")] = False,
    profile: ProfileOpt = None,
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Route a labelled set of prompts (no model called) and report accuracy per task, the confusion matrix and the
    routed cost, in a neutral world (no cooldowns, no spend, every key assumed present) so results reproduce."""
    import time

    from routecli.errors import BelowFloorError
    from routecli.policy.prices import resolve_prices
    from routecli.routing.evaluate import below_floors, evaluate, neutral_state
    from routecli.routing.options import RequestOptions
    from routecli.run.labelled import read_labelled
    from routecli.ui.eval_view import eval_report
    from routecli.ui.render import print_json

    floors = _floors(min_accuracy, min_task_accuracy or [])
    loaded, paths = load(policy)
    items = read_labelled(file)
    prices = resolve_prices(loaded, paths.price_cache)
    keys = None
    if real_keys:
        from routecli.policy.environment import read_environment

        environment = read_environment(loaded)
        keys = {name: environment.has_key(name) for name in loaded.providers}
    options = RequestOptions(profile=profile)
    loaded.profile(profile)  # an unknown profile: a usage error before any work
    started = time.perf_counter()
    report = evaluate(items, loaded, prices, neutral_state(loaded, keys), options, vs, real_keys)
    seconds = time.perf_counter() - started
    if json_out:
        print_json({"file": str(file), "seconds": round(seconds, 3), **report.as_dict()})
    else:
        eval_report(report, str(file), seconds)
    failed = below_floors(report, floors)
    if failed:
        raise BelowFloorError(f"{file}: below the floor: {'; '.join(failed)}")


def _floors(overall: float | None, task_floors: list[str]) -> Floors:
    from routecli.errors import UsageError
    from routecli.policy.types import TASKS
    from routecli.routing.evaluate import Floors

    every, per_task = None, {}
    for text in task_floors:
        task, _, value = text.rpartition("=")
        try:
            floor = float(value)
        except ValueError:
            floor = -1.0
        if not 0.0 <= floor <= 1.0:
            raise UsageError(f"--min-task-accuracy takes 0.85 or TASK=0.85, a number from 0 to 1 (got '{text}')")
        if not task:
            every = floor
        elif task not in TASKS:
            raise UsageError(f"--min-task-accuracy: unknown task '{task}' (tasks are: {', '.join(TASKS)})")
        else:
            per_task[task] = floor
    return Floors(overall, every, per_task)


@app.command()
def replay(
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="The policy to replay under (merged over the default); else the active one."),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-decide the requests recorded in the ledger under another policy (no model called): how many would route
    differently, to what, and the cost difference, by task and in total."""
    from routecli.ledger.recorded import read_requests
    from routecli.ledger.reports import parse_range
    from routecli.policy.fingerprint import policy_hash
    from routecli.policy.prices import resolve_prices
    from routecli.run.replay import replay as replay_requests
    from routecli.ui.render import print_json
    from routecli.ui.replay_view import replay_report

    loaded, paths = load(policy)
    start, end = parse_range(since, until)
    recorded = read_requests(paths.ledger, start, end)
    report = replay_requests(recorded.requests, loaded, resolve_prices(loaded, paths.price_cache), policy_hash(loaded))
    report.notice = recorded.notice
    if json_out:
        print_json(report.as_dict())
    else:
        replay_report(report, policy or "the active policy", ranged=bool(since or until))
