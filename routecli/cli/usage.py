"""Usage mistakes (an unknown option or command, a value out of range) said on one line, as every other error is:
`route: error: <what> (see route ask --help)`, exit 2, instead of Click's four-line "Usage: ... Error:" box."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from typer._click.exceptions import NoArgsIsHelpError  # this Typer vendors Click as typer._click
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperGroup

from routecli.errors import UsageError


class OneLineUsage(TyperGroup):
    """The top-level group: every command below it is made and run inside its `invoke`, so a usage mistake
    anywhere (`route ask --bogus`, `route policy nosuch`) passes here and becomes a UsageError, which main() prints
    on one line. `route` alone, `route policy` alone and `--help` still print the help, unchanged."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:  # `route` or `route policy` alone: the help, as before
        raise
    except ClickUsageError as error:
        raise UsageError(_line(error)) from None


def _line(error: ClickUsageError) -> str:
    what = error.format_message().rstrip(".")
    where = error.ctx.command_path if error.ctx is not None else "route"
    return f"{what} (see {where} --help)"
