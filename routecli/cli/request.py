"""The options of one request, declared once and shared by `ask`, `summarize` and `explain`.

`request_command(...)` adds the shared parameters to a command's signature (Typer reads it), then collects their
values into one `CommandLine` (prompt sources, the policy file, typed `RequestOptions`, display flags), so no
command repeats the list and nothing downstream takes twenty positional parameters.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from routecli.cli import app as flags
from routecli.errors import UsageError
from routecli.routing.options import RequestOptions
from routecli.ui.display import Display
from routecli.values import frozen

# name -> (annotation, default). The order is the order `--help` lists them in.
_REQUEST = {
    "prompt": (flags.PromptArg, None),
    "file": (flags.FilesOpt, None),
    "task": (flags.TaskOpt, None),
    "model": (flags.ModelOpt, None),
    "profile": (flags.ProfileOpt, None),
    "complexity": (flags.ComplexityOpt, None),
    "local": (flags.LocalOpt, False),
    "interactive": (flags.InteractiveOpt, None),
    "max_tokens": (flags.MaxTokensOpt, None),
    "system": (flags.SystemOpt, None),
    "policy": (flags.PolicyOpt, None),
    "max_cost": (flags.MaxCostOpt, None),
    "truncate": (flags.TruncateOpt, False),
    "allow_secrets": (flags.AllowSecretsOpt, False),
}
_DISPLAY = {
    "no_stream": (flags.NoStreamOpt, False),
    "json_out": (flags.JsonOpt, False),
    "quiet": (flags.QuietOpt, False),
    "usage": (flags.UsageFlag, False),
    "verbose": (flags.VerboseOpt, False),
    "no_color": (flags.NoColorOpt, False),
    "log_prompts": (flags.LogPromptsOpt, False),
    "tag": (flags.TagOpt, None),
}


@frozen
class CommandLine:
    """Everything the command line said about one request."""

    prompt: str | None
    files: list[str]
    system: str | None
    policy_path: str | None
    options: RequestOptions
    display: Display


def _interactive(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, OSError):
        return False


def _budget(max_cost: float | None) -> Decimal | None:
    """--max-cost in dollars: Typer lets `nan` and `inf` through its `min=0`; neither is an amount."""
    if max_cost is None:
        return None
    if not math.isfinite(max_cost) or max_cost < 0:
        raise UsageError(f"--max-cost must be a finite amount of dollars, 0 or more (got {max_cost})")
    return Decimal(str(max_cost))


def _command_line(values: dict[str, Any], forced_task: str | None) -> CommandLine:
    options = RequestOptions(
        task=forced_task or values.get("task"),
        complexity=values.get("complexity"),
        pinned=values.get("model"),
        profile=values.get("profile"),
        local_only=bool(values.get("local")),
        interactive=_interactive(values.get("interactive")),
        max_tokens=values.get("max_tokens"),
        request_budget=_budget(values.get("max_cost")),
        exact_tokens=bool(values.get("exact_tokens")),
        truncate=bool(values.get("truncate")),
        allow_secrets=bool(values.get("allow_secrets")),
    )
    display = Display(
        stream=not values.get("no_stream", False),
        json=bool(values.get("json_out")),
        quiet=bool(values.get("quiet")),
        usage=bool(values.get("usage")),
        verbose=bool(values.get("verbose")),
        no_color=bool(values.get("no_color")) or bool(os.environ.get("NO_COLOR")),
        log_prompts=bool(values.get("log_prompts")),
        tag=values.get("tag"),
    )
    return CommandLine(values.get("prompt"), values.get("file") or [], values.get("system"),
                       values.get("policy"), options, display)


def request_command(
    *, display: bool = True, without: tuple[str, ...] = (), task: str | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the shared request options (and, with `display`, the reply's display flags).

    The command takes `line: CommandLine` plus any parameters of its own; `without` drops shared ones that
    make no sense for it, and `task` forces the task (summarize).
    """
    shared = {k: v for k, v in _REQUEST.items() if k not in without}
    if display:
        shared.update({k: v for k, v in _DISPLAY.items() if k not in without})

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "line"]
        params = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in shared.items()
            if name not in {p.name for p in own}
        ]
        own_names = [p.name for p in own]

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            mine = {name: values.pop(name) for name in own_names if name in values}
            return command(line=_command_line(values | mine, task), **mine)

        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            params + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
        )
        wrapper.__annotations__ = {p.name: p.annotation for p in wrapper.__signature__.parameters.values()}  # type: ignore[attr-defined]
        del wrapper.__wrapped__  # Typer must read the signature above, not the command's own
        return wrapper

    return decorate
