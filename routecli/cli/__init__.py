"""The `route` command line: the Typer app, its commands, and the entry point that turns errors into exit codes.

Only wiring lives in `cli/`; every command module registers itself on `app` (cli/app.py) when imported below.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from routecli.cli import (  # noqa: F401 - importing registers the commands
    ask,
    chat,
    evaluate,
    history,
    ledger,
    local,
    reports,
    tools,
)
from routecli.cli.app import app
from routecli.errors import (
    EXIT_BUG,
    EXIT_HANGUP,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT_CLOSED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    RouteError,
    Stopped,
    UsageError,
    interrupt_exit_code,
)
from routecli.ui.streams import say, settle, stand_in_for_closed

_stopped_by: list[Stopped] = []  # the SIGTERM / SIGHUP received, if any


def main() -> None:
    """Console-script entry: user errors become one line and an exit code; bugs a short notice."""
    debug, args = _take_debug(sys.argv[1:])
    debug = debug or os.environ.get("ROUTE_DEBUG", "") not in ("", "0")
    _stopped_by.clear()  # a fresh run (tests run several in one process)
    _stop_on_term_and_hup()
    stand_in_for_closed()
    text = _text_taken_for_an_option(args)
    if text is not None:
        from routecli.ui.render import error_line

        _failure_as_json(args, UsageError(text))
        error_line(text)
        sys.exit(EXIT_USAGE)
    try:
        with _only_the_command_run(args):
            app(args=args)
    except SystemExit as done:
        # Typer turns any KeyboardInterrupt that reaches it (reading stdin, planning) into exit 130.
        if done.code == EXIT_INTERRUPTED and _stopped_by:
            sys.exit(_stopped_by[-1].exit_code)
        if isinstance(done.__context__, BrokenPipeError):  # Click turns a reader gone into a silent exit 1
            _output_failed(done.__context__)
        raise
    except RouteError as exc:
        from routecli.ui.render import error_line

        _failure_as_json(args, exc)
        error_line(exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as stop:
        sys.exit(interrupt_exit_code(stop))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a traceback, nor a line.
        settle("stdout")  # Python's own flush at exit must not say "Exception ignored ... BrokenPipeError"
        sys.exit(EXIT_OUTPUT_CLOSED)
    except Exception as exc:
        if _unwritable_output(exc):
            _output_failed(exc)  # a report that could not be written (`route models >/dev/full`, `>&-`)
        if debug:
            raise
        from routecli.ui.render import error_line

        error_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(EXIT_BUG)


def _failure_as_json(args: list[str], error: RouteError) -> None:
    """`route ask|summarize --json` prints one object whatever failed (a usage mistake, the input, no model, a
    budget): the shape an exit-7 failure prints, with the error; the one line and the exit code stay as they are."""
    end = args.index("--") if "--" in args else len(args)
    if error.json_shown or not args or args[0] not in _JSON_COMMANDS or "--json" not in args[1:end]:
        return
    from routecli.run.result_json import failure_result
    from routecli.ui.render import print_json

    with contextlib.suppress(OSError):
        print_json(failure_result(args[0], error.message))


_JSON_COMMANDS = ("ask", "summarize")


def _unwritable_output(exc: Exception) -> bool:
    """An OSError of a write to a stream, not of a named file (those are InputError / LedgerError ...): a full
    disk, an I/O error or a closed descriptor under a report being printed."""
    return isinstance(exc, OSError) and exc.filename is None and exc.errno in _OUTPUT_ERRNOS


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EBADF, errno.EIO, errno.EPIPE, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _output_failed(failure: OSError) -> None:
    """Exit 141 as for a closed pipe; said on one line unless the reader just went away."""
    if not isinstance(failure, BrokenPipeError):
        say(f"route: error: cannot write the output ({failure.strerror or failure})\n")
    sys.exit(EXIT_OUTPUT_CLOSED)


def _stop_on_term_and_hup() -> None:
    """SIGTERM (`timeout`, a service stop) and SIGHUP (a closed terminal, a dropped SSH session) stop route as
    Ctrl-C does, so what was sent is recorded and a partial reply kept; the exit codes are 143 and 129."""

    def stop(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        _stopped_by.append(Stopped(name, EXIT_HANGUP if signum == getattr(signal, "SIGHUP", None) else EXIT_TERMINATED))
        raise _stopped_by[-1]

    for name in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


@contextlib.contextmanager
def _only_the_command_run(args: list[str]) -> Iterator[None]:
    """Typer builds every command's parameters before running one (about 20 ms for all of route's): when the first
    argument names a command, only that one is built. `route`, `route --help` and a typo still see them all."""
    commands, groups = app.registered_commands, app.registered_groups
    name = args[0] if args and not args[0].startswith("-") else None
    chosen = [c for c in commands if name is not None and name == _command_name(c)]
    chosen_groups = [g for g in groups if name is not None and g.name == name]
    if chosen or chosen_groups:
        app.registered_commands, app.registered_groups = chosen, chosen_groups
    try:
        yield
    finally:  # put them back: tests run many commands in one process
        app.registered_commands, app.registered_groups = commands, groups


def _command_name(command: Any) -> str | None:
    """What Typer calls a command: its given name, else its function's name with dashes."""
    if command.name:
        return str(command.name)
    return command.callback.__name__.replace("_", "-") if command.callback else None


def _text_taken_for_an_option(args: list[str]) -> str | None:
    """A prompt that starts with a dash (a pasted PEM key, a diff, a Markdown rule) would be read as an option,
    and the parser's error would print it whole. Say so without repeating it (it may hold a secret)."""
    end = args.index("--") if "--" in args else len(args)
    for arg in args[:end]:
        if arg.startswith("-") and not (arg.startswith("--") and "=" in arg) and (len(arg) > 64 or "\n" in arg):
            return (
                f"an argument of {len(arg):,} characters starts with '-' and would be read as an option (it is not "
                "shown: it may hold a secret); put `--` before the prompt, or pass it on stdin or with -f FILE"
            )
    return None


def _take_debug(args: list[str]) -> tuple[bool, list[str]]:
    """`--debug` wherever it is put before `--` (`route --debug ask ...` or `route ask ... --debug`, where the
    error message says to add it), taken out of the arguments the commands see."""
    end = args.index("--") if "--" in args else len(args)
    found = "--debug" in args[:end]
    return found, [arg for i, arg in enumerate(args) if i >= end or arg != "--debug"]


__all__ = ["app", "main"]
