"""`route log`: the history of exchanges (list, search, one in full) and whether it is kept (`on|off|status`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from routecli.cli.app import JsonOpt, app
from routecli.cli.completion import complete_conversation

if TYPE_CHECKING:
    from routecli.history.store import Exchange

log_app = typer.Typer(
    help="The history of ask, summarize and chat: recent exchanges, searchable; `route log show ID` prints one.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)
app.add_typer(log_app, name="log")


_MOST = 2**63 - 1  # SQLite's largest integer: `-n 99999999999999999999` means all of them


@log_app.callback()
def log(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many of the latest exchanges.")] = 10,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Only exchanges whose prompt or reply "
                                              "contains this text.")] = None,
    cid: Annotated[str | None, typer.Option("--cid", help="Only this conversation (a unique prefix will do).",
                                            autocompletion=complete_conversation)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Recent exchanges, oldest first: id, conversation, time, model, cost, prompt and reply."""
    if ctx.invoked_subcommand is not None:
        return
    from routecli.history.keep import open_to_read
    from routecli.paths import get_paths
    from routecli.routing.argtext import argument_text
    from routecli.ui.render import notice, print_json

    if query is not None:
        query, odd = argument_text(query, "--query")
        if odd:
            notice(odd)
    history, repaired = open_to_read(get_paths().history)
    if repaired:
        notice(repaired)
    with history:
        found = [_masked(exchange) for exchange in history.recent(min(count, _MOST), query, cid)]
    if json_out:
        print_json([exchange.as_dict() for exchange in found])
    else:
        from routecli.ui.history_view import log_list

        log_list(found)


@log_app.command()
def show(
    exchange_id: Annotated[str, typer.Argument(metavar="ID", help="An exchange's id, or a unique prefix of it.")],
    json_out: JsonOpt = False,
) -> None:
    """One exchange in full: prompt, attachments (names and sizes), reply, model, tokens and cost."""
    from routecli.history.keep import open_to_read
    from routecli.paths import get_paths
    from routecli.ui.render import notice, print_json

    history, repaired = open_to_read(get_paths().history)
    if repaired:
        notice(repaired)
    with history:
        exchange = _masked(history.find(exchange_id))
    if json_out:
        print_json(exchange.as_dict())
    else:
        from routecli.ui.history_view import log_show

        log_show(exchange)


def _masked(exchange: Exchange) -> Exchange:
    """An exchange as shown: a key this machine holds (sent with --allow-secrets, say) is never printed whole."""
    import os
    from dataclasses import replace

    from routecli.ui.policy_view import scrub

    held = sorted((value.strip() for name, value in os.environ.items()
                   if name.endswith(("_API_KEY", "_TOKEN")) and len(value.strip()) >= 8), key=len, reverse=True)
    return replace(exchange, prompt=scrub(exchange.prompt, held), reply=scrub(exchange.reply, held))


def _switch(on: bool) -> None:
    from routecli.errors import HistoryError
    from routecli.history.switch import set_logging
    from routecli.paths import get_paths

    where = get_paths().history_switch
    try:
        set_logging(where, on)
    except OSError as error:
        raise HistoryError(f"cannot write {where}: {error.strerror or error}") from None
    typer.echo("history: on (exchanges are kept)" if on else "history: off (nothing new is kept)")


@log_app.command("on")
def log_on() -> None:
    """Keep every exchange of ask, summarize and chat in the history (the default)."""
    _switch(True)


@log_app.command("off")
def log_off() -> None:
    """Keep nothing new in the history (what is there stays; the ledger still records costs)."""
    _switch(False)


@log_app.command("status")
def log_status(json_out: JsonOpt = False) -> None:
    """Whether exchanges are kept, where, and how many there are."""
    from routecli.history.keep import open_to_read
    from routecli.history.switch import logging_on
    from routecli.paths import get_paths
    from routecli.ui.render import print_json

    paths = get_paths()
    on = logging_on(paths.history_switch)
    history, _ = open_to_read(paths.history)
    with history:
        count = history.count()
    if json_out:
        print_json({"logging": on, "path": str(paths.history), "exchanges": count})
    else:
        typer.echo(f"history: {'on' if on else 'off'}; {count:,} exchange(s) in {paths.history}")
