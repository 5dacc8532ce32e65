"""`route ledger sync|import`: move rows into the ledger (most useful with a shared PostgreSQL ledger).

Registered on the app from cli/__init__.py; only wiring lives here, the work is in ledger/transfer.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from routecli.cli.app import JsonOpt, PolicyOpt, app
from routecli.cli.ask import ledger_paths

ledger_app = typer.Typer(
    help="Send rows waiting on this machine to the ledger, or import a personal ledger into a shared one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command()
def sync(policy: PolicyOpt = None, json_out: JsonOpt = False) -> None:
    """Send the rows that could not reach the ledger now (the next call that reaches it sends them too)."""
    from routecli.ledger.target import ledger_target
    from routecli.ledger.transfer import sync as send_pending
    from routecli.ui.render import notice, print_json

    target = ledger_target(ledger_paths(policy))
    done = send_pending(target)
    for line in done.notices:
        notice(line)
    if json_out:
        print_json({"ledger": target.describe(), **done.as_dict()})
        return
    typer.echo(f"sent {done.stored:,} rows to {target.describe()} ({done.skipped:,} were there already); "
               f"{done.waiting:,} still waiting")


@ledger_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A personal ledger (ledger.sqlite3) to copy into the shared one.")],
    policy: PolicyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a personal SQLite ledger's rows into the shared ledger (ROUTE_LEDGER_URL), skipping rows it has."""
    from routecli.ledger.target import ledger_target
    from routecli.ledger.transfer import import_ledger
    from routecli.ui.render import print_json

    target = ledger_target(ledger_paths(policy))
    done = import_ledger(target, file.expanduser())
    if json_out:
        print_json({"ledger": target.describe(), "imported": done.stored, "skipped": done.skipped})
        return
    typer.echo(f"imported {done.stored:,} rows into {target.describe()}; skipped {done.skipped:,} already there")
