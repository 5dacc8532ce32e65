"""The `route` command line: the Typer app, its commands, and the entry point that turns errors into exit codes.

Only wiring lives in `cli/`; every command module registers itself on `app` (cli/app.py) when imported below.
"""

from __future__ import annotations

import os
import sys

from routecli.cli import ask, local, reports, tools  # noqa: F401 - importing registers the commands
from routecli.cli.app import app
from routecli.errors import EXIT_BUG, RouteError


def main() -> None:
    """Console-script entry: user errors become one line and an exit code; bugs a short notice."""
    debug = "--debug" in sys.argv or os.environ.get("ROUTE_DEBUG", "") not in ("", "0")
    try:
        app()
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


__all__ = ["app", "main"]
