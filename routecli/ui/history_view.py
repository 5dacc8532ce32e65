"""The history on the terminal: `route log` (a list, one exchange), and a follow-up's continuity under explain."""

from __future__ import annotations

import sys
from datetime import datetime

from routecli.history.store import Exchange, Status
from routecli.policy.prices import money
from routecli.routing.continuity import Continuity
from routecli.ui.terminal_text import shown_on

_SNIPPET = 60


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _snippet(text: str, width: int = _SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _cost(exchange: Exchange) -> str:
    return "unpriced" if exchange.cost_usd is None else money(exchange.cost_usd, 6)


def log_list(exchanges: list[Exchange]) -> None:
    """One line per exchange, oldest first: id, conversation, time, model, cost, then prompt → reply."""
    out = sys.stdout
    if not exchanges:
        out.write("no exchanges in the history\n")
        return
    for e in exchanges:
        mark = " (interrupted)" if e.status == Status.INTERRUPTED else ""
        out.write(f"{e.id}  {e.cid}  {_when(e.ts)}  {e.alias or '-'}  {_cost(e)}{mark}\n")
        out.write(shown_on(out, f"    > {_snippet(e.prompt) or '(attachments only)'}\n"))
        out.write(shown_on(out, f"    < {_snippet(e.reply)}\n"))
    out.flush()


def log_show(exchange: Exchange) -> None:
    """One exchange in full: what was asked (with what attached), what came back, by which model, for how much."""
    e = exchange
    tokens = f"{e.input_tokens or 0:,} in / {e.output_tokens or 0:,} out"
    lines = [
        f"id            {e.id}",
        f"conversation  {e.cid}",
        f"time          {_when(e.ts)}  ({e.command}, {e.status.value})",
        f"model         {e.alias or '-'}" + (f" ({e.provider} {e.model_id})" if e.provider else ""),
        f"tokens        {tokens}",
        f"cost          {_cost(e)}",
    ]
    if e.task:
        lines.append(f"task          {e.task}")
    if e.reason:
        lines.append(f"why           {e.reason}")
    for attached in e.attachments:
        lines.append(f"attached      {attached.name} ({attached.size:,} bytes, content not kept)")
    if e.system:
        lines += ["", "system:", e.system]
    lines += ["", "prompt:", e.prompt, "", "reply:", e.reply]
    sys.stdout.write(shown_on(sys.stdout, "\n".join(lines).rstrip("\n") + "\n"))  # no model's escapes on a terminal
    sys.stdout.flush()


def continuity_report(cid: str, exchanges: int, continuity: Continuity | None) -> None:
    """Under `route explain -c`: which conversation, and whether it stays on its model or moves, and why."""
    lines = [f"Continues   conversation {cid} ({exchanges} earlier exchange{'s' if exchanges != 1 else ''})"]
    if continuity is not None:
        lines.append(f"Model       {continuity.text}")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
