"""The `route` console script and `python -m routecli`: Ctrl-C or SIGTERM while the CLI is still being imported
(about a tenth of a second) ends route quietly with 130 / 143, never a traceback.

Imports nothing of route's before the `try`, and nothing at all when a signal comes (it may come while
`errors.py` itself is half imported), so the window it cannot cover is only the interpreter's own start and the
console-script wrapper's first lines.
"""

from __future__ import annotations

import signal
import sys

# errors.EXIT_INTERRUPTED and EXIT_TERMINATED, not imported for the reason above (tests/test_startup_edges.py
# checks they agree).
INTERRUPTED, TERMINATED = 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM before cli.main() puts in its own handlers (errors.Stopped, once it can be imported)."""

    exit_code = TERMINATED


def main() -> None:
    """Import the CLI and run it, inside the one `try` that turns a stop during start-up into its exit code."""
    signal.signal(signal.SIGTERM, _terminated)  # until cli.main() puts in its own handlers
    try:
        from routecli.cli import main as run

        run()
    except KeyboardInterrupt as stop:  # Ctrl-C (or SIGTERM) before cli.main() handles it itself
        sys.exit(getattr(stop, "exit_code", INTERRUPTED))  # errors.Stopped carries its own code too


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated
