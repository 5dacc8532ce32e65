"""The `route` console script and `python -m routecli`: Ctrl-C, SIGTERM or SIGHUP while the CLI is still being
imported (about a tenth of a second) ends route quietly with 130 / 143 / 129, never a traceback.

Imports nothing of route's before the `try`, and nothing at all when a signal comes (it may come while
`errors.py` itself is half imported), so the window it cannot cover is only the interpreter's own start and the
console-script wrapper's first lines.
"""

from __future__ import annotations

import signal
import sys

INTERRUPTED = 130  # errors.EXIT_INTERRUPTED, not imported for the reason above (tests/test_startup_edges.py checks)


class _Stopped(KeyboardInterrupt):
    """SIGTERM / SIGHUP before cli.main() puts in its own handlers: 128 + the signal, as a shell reports it
    (errors.EXIT_TERMINATED / EXIT_HANGUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.exit_code = 128 + signum


def main() -> None:
    """Import the CLI and run it, inside the one `try` that turns a stop during start-up into its exit code."""
    for name in ("SIGTERM", "SIGHUP"):  # until cli.main() puts in its own handlers (Windows has no SIGHUP)
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop)
    try:
        from routecli.cli import main as run

        run()
    except KeyboardInterrupt as stop:  # a stop before cli.main() handles it itself
        sys.exit(getattr(stop, "exit_code", INTERRUPTED))  # errors.Stopped carries its own code too


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)
