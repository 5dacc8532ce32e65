"""The `route` command line: the Typer app, its commands, and the entry point that turns errors into exit codes.

Only wiring lives in `cli/`; every command module registers itself on `app` (cli/app.py) when imported below.
"""

from __future__ import annotations

import os
import sys

from routecli.cli import ask, ledger, local, reports, tools  # noqa: F401 - importing registers the commands
from routecli.cli.app import app
from routecli.errors import EXIT_BUG, RouteError


def main() -> None:
    """Console-script entry: user errors become one line and an exit code; bugs a short notice."""
    debug, args = _take_debug(sys.argv[1:])
    debug = debug or os.environ.get("ROUTE_DEBUG", "") not in ("", "0")
    try:
        app(args=args)
    except RouteError as exc:
        from routecli.ui.render import error_line

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
        from routecli.ui.render import error_line

        error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(EXIT_BUG)


def _take_debug(args: list[str]) -> tuple[bool, list[str]]:
    """`--debug` wherever it is put before `--` (`route --debug ask ...` or `route ask ... --debug`, where the
    error message says to add it), taken out of the arguments the commands see."""
    end = args.index("--") if "--" in args else len(args)
    found = "--debug" in args[:end]
    return found, [arg for i, arg in enumerate(args) if i >= end or arg != "--debug"]


__all__ = ["app", "main"]
