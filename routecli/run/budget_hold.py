"""A request's worst case held against the team's budgets while it runs, with a shared ledger: reserved once
before anything is sent, released once its rows are recorded, whatever way the run ends
(ledger/reservations.py says how the reservation is made safe across machines).

With the personal SQLite ledger nothing is held: one person's calls are checked against the spend read at the
start, as before. A shared ledger that cannot be reached never blocks the call: the budgets were then checked
against what this machine last read (ledger/last_known.py), and a notice says the call is not reserved.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

from routecli.errors import LedgerError, LedgerUnreachable
from routecli.ledger import attribution, reservations
from routecli.ledger.record import day_start, month_start
from routecli.ledger.target import ledger_target
from routecli.paths import Paths
from routecli.policy.types import Policy
from routecli.routing.plan import Plan


def worst_case(plan: Plan) -> Decimal:
    """The most this request may cost: what is reserved. The one place that says so, so that a truer upper bound
    of the whole run (every fallback, retry and chunk: branch `money`) replaces it here."""
    if plan.mapreduce is not None:
        return plan.mapreduce.worst_case_cost or Decimal(0)
    chosen = plan.decision.chosen
    if chosen is None:
        return Decimal(0)
    return plan.decision.verdict(chosen).worst_case_cost or Decimal(0)


@contextlib.contextmanager
def hold_budget(
    plan: Plan, policy: Policy, paths: Paths, tag: str | None, notice: Callable[[str], None]
) -> Iterator[None]:
    """Reserve before the body runs (BudgetError, exit 6, when the team's budget has no room); release after."""
    budgets = policy.budgets
    limits = reservations.Limits(budgets.per_day, budgets.per_month, budgets.per_user_day, budgets.per_user_month)
    target = ledger_target(paths)
    mapreduce = plan.mapreduce
    runs = not mapreduce.budget if mapreduce is not None else plan.decision.chosen is not None  # else refused
    if not target.shared or not limits.any() or not runs:
        yield
        return
    now = time.time()
    held: int | None = None
    try:
        # Opened for the reservation and again for the release: the shared ledger keeps its connection for the
        # run between opens (ledger/pg_store.py), so the call itself writes on the same one.
        with target.open() as ledger:
            user = attribution.current(tag).user
            held = reservations.reserve(
                ledger, limits, worst_case(plan), uuid.uuid4().hex, user, (day_start(now), month_start(now)), now
            )
    except LedgerUnreachable:
        pass  # reading the spend said so already: the budgets were checked against what this machine last read
    except LedgerError as error:
        notice(f"{error.message}; this call is not reserved against the team's budget")
    try:
        yield
    finally:
        if held is not None:
            with contextlib.suppress(LedgerError), target.open() as ledger:  # else the reservation expires
                reservations.release(ledger, held)
