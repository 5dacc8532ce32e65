"""The `route` console script and `python -m routecli`: Ctrl-C or SIGTERM while the CLI is still being imported
(about a tenth of a second) ends route quietly with 130 / 143, never a traceback.

Imports nothing of its own before the `try`, so the window it cannot cover is only the interpreter's own start and
the console-script wrapper's first lines.
"""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """Import the CLI and run it, inside the one `try` that turns a stop during start-up into its exit code."""
    signal.signal(signal.SIGTERM, _terminated)  # until cli.main() puts in its own handlers
    try:
        from routecli.cli import main as run

        run()
    except KeyboardInterrupt as stop:  # Ctrl-C (or the SIGTERM below) before cli.main() handles it itself
        from routecli.errors import interrupt_exit_code

        sys.exit(interrupt_exit_code(stop))


def _terminated(signum: int, frame: object) -> None:
    from routecli.errors import EXIT_TERMINATED, Stopped

    raise Stopped("SIGTERM", EXIT_TERMINATED)
