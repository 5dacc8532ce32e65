"""How the person asked to see a reply: built once from the command line, read by the run and the renderers."""
from __future__ import annotations

from routecli.values import frozen


@frozen
class Display:
    stream: bool = True  # --no-stream turns it off
    json: bool = False
    quiet: bool = False  # no notices
    usage: bool = False  # -u: a usage line after the reply
    verbose: bool = False  # the panel even when stderr is not a terminal
    no_color: bool = False
    log_prompts: bool = False  # store the prompt text in the ledger (off by default)
    panel: bool = True  # the routing panel before a reply (`route chat` shows a status line after it instead)
    tag: str | None = None  # --tag: a project tag on the ledger rows (else ROUTE_TAG)
