"""Budgets that hold when many `route ask` run at once on one machine: an attempt is admitted in the same SQLite
transaction that writes it ahead.

Every process reads the spend once at start (run/state.py), before the others have written their calls ahead,
so that read alone lets ten parallel calls each see an empty day. The in-flight row of an attempt is inserted
under `BEGIN IMMEDIATE` (store.Ledger.write_values), which holds the ledger's one write lock: inside it, the
spend of today and this month (the rollup, in-flight rows of every other process included) is summed and the
attempt refused (BudgetError, exit 6) when its worst case would cross `budgets.per_day` / `per_month`. The
next writer waits for the lock and then sees this row, so two attempts never fit into the same remaining
amount. A shared PostgreSQL ledger reserves whole requests instead (ledger/reservations.py): not done there.
"""

from __future__ import annotations

import time
from decimal import Decimal

from routecli.errors import BudgetError
from routecli.ledger.record import day_start, month_start
from routecli.ledger.store import NANO, Ledger
from routecli.ledger.writeahead import IN_FLIGHT
from routecli.policy.prices import money
from routecli.values import frozen

_COST = 6  # index of cost_nano in a Sums row


@frozen
class Admission:
    """One attempt's worst case checked against the day's and the month's budgets (None: no such budget)."""

    worst: Decimal
    per_day: Decimal | None
    per_month: Decimal | None

    def wanted(self) -> bool:
        return self.per_day is not None or self.per_month is not None

    def check(self, ledger: Ledger, now: float | None = None) -> None:
        """Raise BudgetError when the ledger's spend plus this worst case crosses a budget. Called inside the
        write transaction of the in-flight row, so the spend read cannot change before that row is in."""
        moment = time.time() if now is None else now
        for budget, name, since in (
            (self.per_day, "the daily budget", day_start(moment)),
            (self.per_month, "the monthly budget", month_start(moment)),
        ):
            if budget is None:
                continue
            settled, in_flight = _spend(ledger, since)
            if settled + in_flight + self.worst > budget:
                raise BudgetError(
                    f"refused by {name} of {money(budget, 2)}: {money(settled, 2)} spent, {money(in_flight, 2)} "
                    f"in calls still in flight, and this call may cost {money(self.worst)}"
                )


def _spend(ledger: Ledger, since: float) -> tuple[Decimal, Decimal]:
    """(settled, in flight) since `since`, from the rollup by status: a few rows, whatever the ledger's size."""
    settled = in_flight = 0
    for (status,), sums in ledger.aggregate(("status",), since, None).items():
        if status == IN_FLIGHT:
            in_flight += sums[_COST]
        else:
            settled += sums[_COST]
    return Decimal(settled) / NANO, Decimal(in_flight) / NANO
