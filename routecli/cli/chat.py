"""`route chat`: an interactive conversation, each turn routed and streamed (run/chat.py does the work)."""

from __future__ import annotations

import sys

import typer

from routecli.cli.app import CidOpt, ContinueOpt, NoLogOpt, app
from routecli.cli.request import CommandLine, request_command

# Options of one request that a session has no use for: its prompts are typed, and replies always stream.
_NOT_IN_CHAT = ("prompt", "file", "truncate", "json_out", "no_stream")


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (ValueError, OSError):
        return False


@app.command()
@request_command(without=_NOT_IN_CHAT)
def chat(
    line: CommandLine, continue_conversation: ContinueOpt = False, cid: CidOpt = None, no_log: NoLogOpt = False
) -> None:
    """Chat in the terminal: each turn routed and streamed, one status line per turn; !model ALIAS, !auto,
    !cost, !exit. Ctrl-C stops the current reply. With stdin not a terminal, each line is one turn."""
    from dataclasses import replace

    from routecli.cli.ask import load
    from routecli.run.chat import Session, run_chat
    from routecli.run.conversation import Conversation, Keeper, load_conversation
    from routecli.ui.render import notice

    policy, paths = load(line.policy_path, discover=True, local=line.options.local_only)
    if line.options.pinned is not None:
        policy.model(line.options.pinned)  # an unknown alias is a usage error now, not at the first turn
    continuing = continue_conversation or cid is not None
    conversation = load_conversation(paths, cid) if continuing else Conversation.new()
    for text in conversation.notices:
        notice(text)
    display = line.display
    if policy.log_prompts and not display.log_prompts:
        display = replace(display, log_prompts=True)
    # A status line after each turn instead of the panel before it (-v brings the panel back).
    display = replace(display, stream=True, json=False, panel=display.verbose)
    session = Session(policy, paths, line.options, display, line.system,
                      Keeper.for_run(paths, "chat", conversation, no_log), pinned=line.options.pinned)
    code = run_chat(session, interactive=_stdin_is_terminal())
    if code:
        raise typer.Exit(code)
