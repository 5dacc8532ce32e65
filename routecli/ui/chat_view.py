"""`route chat` on stderr: a banner, one status line per turn, the session's cost. Replies go to stdout."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

from routecli.policy.prices import money
from routecli.ui.render import console


def _total(cost: Decimal, unpriced: int) -> str:
    return money(cost, 6) + (f" + {unpriced} unpriced" if unpriced else "")


def chat_banner(cid: str, earlier: int, no_color: bool = False) -> None:
    resumed = f", continuing {earlier} earlier exchange{'s' if earlier != 1 else ''}" if earlier else ""
    out = console(sys.stderr, no_color)
    out.print(f"route chat · conversation {cid}{resumed}", style="bold", markup=False)
    out.print("!model ALIAS pins a model · !auto routes again · !cost · !exit (or Ctrl-D)", style="dim", markup=False)


def chat_status(outcome: Any, cost: Decimal, unpriced: int, no_color: bool = False) -> None:
    """One line after each reply (a partial one too): the model, its tokens, what the session has cost so far."""
    final = outcome.final or (outcome.attempts[-1] if outcome.attempts else None)
    if final is None:
        return
    tokens = f"{final.input_tokens or 0:,} in / {final.output_tokens or 0:,} out"
    if final.usage_estimated:
        tokens += " (estimated)"
    line = f"{final.alias} · {tokens} · session {_total(cost, unpriced)}"
    console(sys.stderr, no_color).print(line, style="dim", markup=False)


def chat_cost(turns: int, cost: Decimal, unpriced: int) -> None:
    sys.stderr.write(f"route: {turns} turn(s) this session, {_total(cost, unpriced)}\n")
    sys.stderr.flush()
