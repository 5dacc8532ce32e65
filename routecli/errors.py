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
EXIT_BELOW_FLOOR = 9  # `route eval`: accuracy below --min-accuracy / --min-task-accuracy (for CI)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_HANGUP = 129  # SIGHUP: the terminal closed, the SSH session dropped (128 + 1, as a shell reports it)
EXIT_TERMINATED = 143  # SIGTERM: `timeout`, a service stop (128 + 15)
EXIT_OUTPUT_CLOSED = 141  # stdout closed, gone (`| head`) or full: what a shell reports for SIGPIPE (128 + 13)


class RouteError(Exception):
    """A problem the user can fix; printed as one line."""

    exit_code = EXIT_BUG
    json_shown = False  # `ask --json`: its object (with the attempts made) is on stdout already, cli.main adds none

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


class PolicyErrors(PolicyError):
    """Every mistake found in the policy files at once, one `file:line: message` line each (in file order)."""

    def __init__(self, problems: list[PolicyError]) -> None:
        first = problems[0]
        super().__init__(first.path, first.line, "")
        self.problems = tuple(problems)
        self.message = "\n".join(problem.message for problem in problems)


class InputError(RouteError):
    exit_code = EXIT_INPUT


class TooLargeError(RouteError):
    exit_code = EXIT_TOO_LARGE


class NoModelError(RouteError):
    exit_code = EXIT_NO_MODEL


class SettingError(NoModelError):
    """No model, and a key or `<NAME>_BASE_URL` in the environment that can never work is why: the user's to fix
    (exit 2, as other usage mistakes). A NoModelError still, so `route explain` shows it and exits 0 unpinned."""

    exit_code = EXIT_USAGE


class SecretError(RouteError):
    """The prompt holds a secret, --allow-secrets was not given, and no local model can take it."""

    exit_code = EXIT_USAGE


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


class BelowFloorError(RouteError):
    exit_code = EXIT_BELOW_FLOOR


class HistoryError(RouteError):
    """The history of exchanges cannot be read or written (`route log`; ask and chat only say so)."""

    exit_code = EXIT_LEDGER


class DamagedHistoryError(HistoryError):
    """The history file is not a readable SQLite database: it is set aside and its readable rows salvaged."""


class DamagedLedgerError(LedgerError):
    """The ledger file is not a readable SQLite database (random bytes, a truncated file)."""


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread by the handlers `route` installs: a KeyboardInterrupt, so
    every path that records what Ctrl-C interrupted records these too; only the exit code and wording differ."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code


def interrupt_exit_code(stop: BaseException) -> int:
    """130 for Ctrl-C; 143 / 129 for SIGTERM / SIGHUP."""
    return stop.exit_code if isinstance(stop, Stopped) else EXIT_INTERRUPTED


class LedgerUnreachable(LedgerError):
    """A shared (PostgreSQL) ledger that cannot be reached: the call goes on without it (issue 14)."""
