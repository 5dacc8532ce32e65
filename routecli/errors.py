"""Errors a user can cause, each with its own exit code.

They are raised anywhere and caught once, in `cli.py`, which prints the message on one line to stderr.
Anything else that escapes is a bug and shows a traceback only under `--debug`.
"""

from __future__ import annotations

# Exit codes, documented in the README. 2 is also what Typer uses for bad command-line usage.
EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2  # bad flags, unknown task / model / profile, broken policy file
EXIT_INPUT = 3  # empty, binary or unreadable input
EXIT_TOO_LARGE = 4  # the input fits no model's context window
EXIT_NO_MODEL = 5  # no model is eligible (missing keys, cooldowns, --local with no local model ...)
EXIT_BUDGET = 6  # a budget refused the call
EXIT_PROVIDER = 7  # every model in the chain failed
EXIT_LEDGER = 8  # the cost ledger cannot be read or written
EXIT_INTERRUPTED = 130  # Ctrl-C


class RouteError(Exception):
    """A problem the user can fix; printed as one line."""

    exit_code = EXIT_BUG

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(RouteError):
    exit_code = EXIT_USAGE


class PolicyError(RouteError):
    """A mistake in a policy file, always reported with the file and line."""

    exit_code = EXIT_USAGE

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class InputError(RouteError):
    exit_code = EXIT_INPUT


class TooLargeError(RouteError):
    exit_code = EXIT_TOO_LARGE


class NoModelError(RouteError):
    exit_code = EXIT_NO_MODEL


class BudgetError(RouteError):
    exit_code = EXIT_BUDGET


class ProviderFailure(RouteError):
    exit_code = EXIT_PROVIDER


class NoLocalServer(ProviderFailure):
    """--local, and every local server tried refused the connection, none of them named by the user: no model
    was there to answer (exit 5, as when discovery finds none), not a failed call."""

    exit_code = EXIT_NO_MODEL


class LedgerError(RouteError):
    exit_code = EXIT_LEDGER


class DamagedLedgerError(LedgerError):
    """The ledger file is not a readable SQLite database (random bytes, a truncated file)."""


class LedgerUnreachable(LedgerError):
    """A shared (PostgreSQL) ledger that cannot be reached: the call goes on without it (issue 14)."""
