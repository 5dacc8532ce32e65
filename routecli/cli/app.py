"""The Typer app every command registers on, and the options shared by more than one command.

Only wiring lives in `cli/`: every import beyond Typer happens inside the commands, so `route --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from routecli import __version__
from routecli.cli.completion import (
    complete_conversation,
    complete_model,
    complete_profile,
    complete_task,
    register_protocol,
)
from routecli.cli.usage import OneLineUsage

app = typer.Typer(
    name="route",
    cls=OneLineUsage,  # usage mistakes on one line
    help="Send every prompt to the cheapest LLM able to do it well, and prove it did.",
    no_args_is_help=True,
    add_completion=False,  # `route completion` is the one way in; Typer's --install-completion edited ~/.bashrc
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
register_protocol()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"route {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Send every prompt to the cheapest LLM able to do it well, and prove it did."""


# ----------------------------------------------------------------------------- options of several commands

PolicyOpt = Annotated[
    str | None,
    typer.Option(
        "--policy", help="A routes.yaml merged over the default (else $ROUTE_POLICY, ./routes.yaml, config dir)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")]

# The options that shape one request, shared by ask, summarize and explain (see `cli/request.py`).
PromptArg = Annotated[
    str | None,
    typer.Argument(
        help="The prompt (instruction). Text on stdin and -f files are attached after it.", show_default=False
    ),
]
FilesOpt = Annotated[
    list[str] | None,
    typer.Option("--file", "-f", help="Attach a file ('-' for stdin, globs allowed); repeatable.", show_default=False),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        "-t",
        help="Force the task: chat, summarize, code, reasoning, creative, extract, safety.",
        autocompletion=complete_task,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Pin a model by its alias (see `route models`).", autocompletion=complete_model
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Routing profile from the policy: cheap, balanced, best, ...",
        autocompletion=complete_profile,
    ),
]
ComplexityOpt = Annotated[
    int | None,
    typer.Option(
        "--complexity", "-C", min=1, max=10, help="1-10: low routes to cheap/local models, high to the strongest."
    ),
]
LocalOpt = Annotated[bool, typer.Option("--local", help="Only use local models (Ollama, LM Studio, llama.cpp).")]
InteractiveOpt = Annotated[
    bool | None,
    typer.Option(
        "--interactive/--batch", help="Prefer fast models (default: on when stdin and stdout are a terminal)."
    ),
]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Maximum output tokens for the reply.")]
SystemOpt = Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")]
MaxCostOpt = Annotated[
    float | None, typer.Option("--max-cost", min=0.0, help="Refuse or downgrade if one call could cost more (USD).")
]
TruncateOpt = Annotated[
    bool, typer.Option("--truncate", help="If the input fits no model, cut it to fit the largest window.")
]
AllowSecretsOpt = Annotated[
    bool, typer.Option("--allow-secrets", help="Send a prompt holding a secret (a key, a token) to a remote model.")
]
ExactOpt = Annotated[bool, typer.Option("--exact-tokens", help="Always count tokens exactly (loads the tokenizer).")]

# How the reply is shown (ask and summarize).
NoStreamOpt = Annotated[bool, typer.Option("--no-stream", help="Wait for the whole reply, then print it.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No notices on stderr (errors still show).")]
UsageFlag = Annotated[bool, typer.Option("--usage", "-u", help="After the reply, a usage and cost line on stderr.")]
LogPromptsOpt = Annotated[
    bool, typer.Option("--log-prompts", help="Store the prompt text in the ledger (off unless the policy says so).")
]
TagOpt = Annotated[
    str | None,
    typer.Option("--tag", help="A project tag on this call's ledger rows (default: ROUTE_TAG); see costs --by tag."),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show the routing panel even when not on a terminal.")
]

# Conversations (ask, explain, chat) and the history (ask, summarize, chat).
ContinueOpt = Annotated[
    bool, typer.Option("--continue", "-c", help="Continue the last conversation: its earlier turns are sent too.")
]
CidOpt = Annotated[
    str | None,
    typer.Option(
        "--cid",
        help="Continue the conversation with this id (a unique prefix will do; see `route log`).",
        autocompletion=complete_conversation,
    ),
]
NoLogOpt = Annotated[bool, typer.Option("--no-log", help="Keep this exchange out of the history (`route log`).")]
