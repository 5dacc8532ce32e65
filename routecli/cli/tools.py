"""Housekeeping commands: `route doctor`, `route policy ...`, `route cooldowns [clear]`, `route completion`.

Registered on the app from cli.py (which imports this module at its end). Like cli.py, only wiring lives
here, and every import beyond Typer happens inside the commands, so `route --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from routecli.cli.app import JsonOpt, NoColorOpt, PolicyOpt, app
from routecli.cli.completion import complete_cooling
from routecli.paths import get_paths

# ----------------------------------------------------------------------------- route doctor


@app.command()
def doctor(
    ping: Annotated[
        bool, typer.Option("--ping", help="Also send a one-token request to each provider with a key (costs ~$0).")
    ] = False,
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """Check the setup: policy files, providers and keys (masked), ledger, cooldowns; --ping tests each provider.

    Exit 0 when all is well, 2 when the policy is broken, 8 when the ledger cannot be read or written,
    7 when a ping failed (the first of these that applies).
    """
    from routecli.run.doctor import diagnose
    from routecli.ui.doctor_view import render_text
    from routecli.ui.policy_view import masked
    from routecli.ui.render import error_line, print_json

    report = masked(diagnose(policy, get_paths(), ping))  # keys masked and base URLs scrubbed already; the rest too
    if json_out:
        print_json(report)
    else:
        color = not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
        sys.stdout.write(render_text(report, color))
        sys.stdout.flush()
    if report["exit_code"]:
        error_line("doctor found problems: " + "; ".join(report["problems"]))
        raise typer.Exit(report["exit_code"])


# ----------------------------------------------------------------------------- route policy ...

policy_app = typer.Typer(
    name="policy",
    help="Show the effective routing policy, or check a policy file.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(
    policy: PolicyOpt = None,
    prices: Annotated[
        bool, typer.Option("--prices/--no-prices", help="Add each model's resolved price (as YAML comments).")
    ] = True,
    diff: Annotated[
        bool, typer.Option("--diff", help="Only what your policy file adds, changes or removes, and where.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """The merged policy in effect (the default with yours over it), as YAML; keys are never shown."""
    from routecli.policy.load import load_policy
    from routecli.ui.policy_view import known_secrets, plain, policy_yaml, price_dict
    from routecli.ui.render import print_json

    paths = get_paths()
    loaded = load_policy(policy, paths.config_dir, paths.cache_dir)  # a broken policy: file:line, exit 2
    if diff:
        from routecli.policy.diff import user_changes
        from routecli.ui.policy_view import diff_dicts, diff_text

        sources, changes = user_changes(policy, paths.config_dir)
        if json_out:
            print_json({"sources": list(sources), "changes": diff_dicts(changes, loaded)})
        else:
            sys.stdout.write(diff_text(sources, changes, loaded))
        return
    table = None
    if prices:
        from routecli.policy.prices import resolve_prices

        table = resolve_prices(loaded, paths.price_cache)
    if json_out:
        data = {"sources": list(loaded.sources), "policy": plain(loaded.raw, known_secrets(loaded))}
        if table is not None:
            data["prices"] = price_dict(table)
        print_json(data)
    else:
        sys.stdout.write(policy_yaml(loaded, table))


@policy_app.command("validate")
def policy_validate(
    file: Annotated[
        Path | None, typer.Argument(help="The policy file to check, merged over the default (default: the active one).")
    ] = None,
) -> None:
    """Check FILE merged over the default policy, or with no FILE the policy in effect: `ok: FILE (N models,
    M tasks)`, or every problem found, one `file:line: error` line each (exit 2)."""
    from routecli.policy.load import validate_active, validate_file

    if file is not None:
        checked = validate_file(file)  # a PolicyError: each problem as one file:line line by main(), exit 2
        typer.echo(f"ok: {file} ({len(checked.models)} models, {len(checked.tasks)} tasks)")
        return
    from routecli.policy.load import untrusted_local_policy

    config_dir = get_paths().config_dir
    if not os.environ.get("ROUTE_POLICY") and (ignored := untrusted_local_policy(config_dir)) is not None:
        note = f"note: {ignored} is not applied until trusted; `route policy validate {ignored}` checks it"
        typer.echo(note, err=True)
    paths, checked = validate_active(None, config_dir)
    files = str(paths[0]) + "".join(f" with {path} merged over it" for path in paths[1:])
    typer.echo(f"ok: {files} ({len(checked.models)} models, {len(checked.tasks)} tasks)")


@policy_app.command("trust")
def policy_trust(
    file: Annotated[Path, typer.Argument(help="The policy file to trust (default: ./routes.yaml).")] = Path(
        "routes.yaml"
    ),
) -> None:
    """Trust a routes.yaml found in this folder: it is applied until its content changes."""
    from routecli.errors import InputError
    from routecli.policy.load import validate_file
    from routecli.policy.trust import key_routing_changes, trust

    if not file.is_file():
        raise InputError(f"no policy file at {file}")
    validate_file(file)  # only a valid policy is trusted (a PolicyError: file:line, exit 2)
    trust(file, get_paths().config_dir)
    typer.echo(f"trusted: {file.resolve()}")
    from routecli.policy.schema import read_policy_file

    changes = key_routing_changes(read_policy_file(file))
    if changes:
        typer.echo(f"note: it changes where keys are sent: {', '.join(changes)}", err=True)


@policy_app.command("untrust")
def policy_untrust(
    file: Annotated[Path, typer.Argument(help="The policy file to forget (default: ./routes.yaml).")] = Path(
        "routes.yaml"
    ),
) -> None:
    """Forget a trusted policy file: it is ignored again until trusted."""
    from routecli.policy.trust import untrust

    forgotten = untrust(file, get_paths().config_dir)
    typer.echo(f"untrusted: {file.resolve()}" if forgotten else f"was not trusted: {file.resolve()}")


# ----------------------------------------------------------------------------- route completion


@app.command()
def completion(
    shell: Annotated[
        str | None, typer.Argument(help="bash, zsh or fish: print that shell's completion script.")
    ] = None,
    write: Annotated[
        Path | None, typer.Option("--write", help="Write route.bash, route.zsh and route.fish into this folder.")
    ] = None,
) -> None:
    """Print the shell completion script (`route completion bash > ...`); see the README to install it."""
    from routecli.cli.completion import SHELLS, script
    from routecli.errors import UsageError

    if write is not None:
        for path in _write_completion_scripts(write):
            typer.echo(str(path))
        return
    if shell not in SHELLS:
        got = f" (not {shell!r})" if shell else ""
        raise UsageError(f"name a shell: {', '.join(SHELLS)}{got}, or --write DIR")
    sys.stdout.write(script(shell))


def _write_completion_scripts(folder: Path) -> list[Path]:
    """The scripts written into `folder`; a folder that is a file is exit 2, one that cannot be written exit 3."""
    from routecli.cli.completion import write_scripts
    from routecli.errors import InputError, UsageError

    try:
        return write_scripts(folder)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise UsageError(f"--write needs a folder, and {blocker} is a file") from None
    except OSError as error:
        raise InputError(f"cannot write {error.filename or folder}: {error.strerror or error}") from None


# ----------------------------------------------------------------------------- route cooldowns [clear]

cooldowns_app = typer.Typer(
    name="cooldowns",
    help="List the cooldowns in force (models and providers route skips after a failure), or clear them.",
    invoke_without_command=True,
    rich_markup_mode=None,
)
app.add_typer(cooldowns_app, name="cooldowns")


@cooldowns_app.callback()
def cooldowns_list(
    ctx: typer.Context, policy: PolicyOpt = None, json_out: JsonOpt = False, no_color: NoColorOpt = False
) -> None:
    """Each cooldown in force: the model (or every model of a provider), the failure, until when, time left."""
    if ctx.invoked_subcommand is not None:
        return
    import time

    from routecli.ledger import cooldowns
    from routecli.ui.render import print_json
    from routecli.ui.report_view import cooldown_rows, cooldowns_table

    paths = get_paths()
    now = time.time()
    rows = cooldown_rows(cooldowns.load(paths.cooldowns, now), _models_and_providers(policy), now)
    if json_out:
        print_json(rows)
    else:
        cooldowns_table(rows, no_color)


@cooldowns_app.command("clear")
def cooldowns_clear(
    alias: Annotated[
        str | None,
        typer.Argument(
            help="A model alias or provider name (default: clear every cooldown).",
            autocompletion=complete_cooling,
            show_default=False,
        ),
    ] = None,
    policy: PolicyOpt = None,
) -> None:
    """Clear every cooldown, or those that keep ALIAS out (its own and its provider's)."""
    from routecli.errors import InputError, UsageError
    from routecli.ledger import cooldowns

    paths = get_paths()
    keys = None
    if alias is not None:
        in_force = cooldowns.load(paths.cooldowns)
        model_providers, providers = _models_and_providers(policy)
        if alias in model_providers:
            keys = [f"model:{alias}", f"provider:{model_providers[alias]}"]
        elif alias in providers:
            keys = [f"provider:{alias}"]
        elif f"model:{alias}" in in_force or f"provider:{alias}" in in_force:  # no longer in the policy
            keys = [f"model:{alias}", f"provider:{alias}"]
        else:
            raise UsageError(f"unknown model or provider '{alias}' (see `route models` and `route cooldowns`)")
    try:
        removed = cooldowns.clear(paths.cooldowns, keys)
    except OSError as error:
        raise InputError(f"cannot write the cooldowns file {paths.cooldowns}: {error.strerror or error}") from None
    if not removed:
        typer.echo("no cooldown in force" + (f" for {alias}" if alias else ""))
        return
    typer.echo(f"cleared {len(removed)} cooldown(s): {', '.join(removed)}")


def _models_and_providers(policy: str | None) -> tuple[dict[str, str], frozenset[str]]:
    """Each model's provider, and the providers, from the policy; a broken policy says so once and leaves the
    cooldowns file itself to go by (cooldowns are what one reaches for when things are already going wrong)."""
    from routecli.cli.ask import load
    from routecli.errors import PolicyError
    from routecli.ui.render import notice

    try:
        loaded, _ = load(policy)
    except PolicyError as error:
        notice(f"the policy cannot be read, so models are not matched to providers: {error.message}")
        return {}, frozenset()
    return {alias: model.provider for alias, model in loaded.models.items()}, frozenset(loaded.providers)
