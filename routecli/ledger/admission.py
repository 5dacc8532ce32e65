"""Budgets that hold when many `route ask` run at once on one machine: an attempt is admitted in the same SQLite
transaction that writes it ahead.

Every process reads the spend once at start (run/state.py), before the others have written their calls ahead,
so that read alone lets ten parallel calls each see an empty day. The in-flight row of an attempt is inserted
under `BEGIN IMMEDIATE` (store.Ledger.write_values), which holds the ledger's one write lock: inside it, the
spend of today and this month (the rollup, in-flight rows of every other process included) is summed and the
attempt refused (AdmissionRefused, exit 6) when its worst case would cross `budgets.per_day` / `per_month`. The
next writer waits for the lock and then sees this row, so two attempts never fit into the same remaining
amount. The refusal carries the spend it saw, so that `on_exceed: downgrade` can decide again with it
(routing/late_budget.py). A shared PostgreSQL ledger reserves whole requests instead (ledger/reservations.py):
not done there.
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


class AdmissionRefused(BudgetError):
    """A budget crossed as an attempt was written ahead; nothing was written or sent for it. `spent_today` and
    `spent_month`: what the ledger held then (settled and in flight), for the budgets there are (else None)."""

    def __init__(self, message: str, spent_today: Decimal | None, spent_month: Decimal | None) -> None:
        super().__init__(message)
        self.spent_today = spent_today
        self.spent_month = spent_month


@frozen
class Admission:
    """One attempt's worst case checked against the day's and the month's budgets (None: no such budget)."""

    worst: Decimal
    per_day: Decimal | None
    per_month: Decimal | None

    def wanted(self) -> bool:
        return self.per_day is not None or self.per_month is not None

    def check(self, ledger: Ledger, now: float | None = None) -> None:
        """Raise AdmissionRefused when the ledger's spend plus this worst case crosses a budget. Called inside the
        write transaction of the in-flight row, so the spend read cannot change before that row is in."""
        moment = time.time() if now is None else now
        day = None if self.per_day is None else _spend(ledger, day_start(moment))
        month = None if self.per_month is None else _spend(ledger, month_start(moment))
        limits = ((self.per_day, "the daily budget", day), (self.per_month, "the monthly budget", month))
        for budget, name, spend in limits:
            if budget is None or spend is None:
                continue
            settled, in_flight = spend
            if settled + in_flight + self.worst > budget:
                raise AdmissionRefused(
                    f"refused by {name} of {money(budget, 2)}: {money(settled, 2)} spent, {money(in_flight, 2)} "
                    f"in calls still in flight, and this call may cost {money(self.worst)}",
                    None if day is None else sum(day, Decimal(0)),
                    None if month is None else sum(month, Decimal(0)),
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
