"""Budgets that hold across machines: before a request is sent, its worst-case cost is reserved in the shared
ledger; once its rows are recorded, the reservation is released (deleted).

Isolation and locking. A reservation is ONE transaction at PostgreSQL's default isolation, READ COMMITTED, that
first takes `pg_advisory_xact_lock(BUDGET_LOCK)`, then sums what is spent (the rollup, through
`Ledger.aggregate`) and what is reserved by live reservations (expires_at > now()), refuses when that plus this
request's worst case would cross a budget, and otherwise inserts the reservation. Every reservation of a ledger
takes the same lock, so these check-and-insert transactions run one at a time; the lock is released only at
COMMIT, when the new reservation is already visible, and under READ COMMITTED each statement of the next holder
reads a snapshot taken after it got the lock: it sees that reservation and every row committed before. Two
requests can therefore never both fit into the same remaining amount, which is all the budgets need. That is
what SERIALIZABLE would give for this one pattern, without serialisation failures to retry under load.

Recording takes no lock: a recorded row replaces a reservation of at least its cost (the reservation is the
request's worst case), and the release comes after the rows are written, so for a moment both count — too much,
never too little. Which is why the worst case must be a true upper bound of the run (run/budget_hold.py).

A process that dies while holding a reservation (SIGKILL, a power cut) leaves it behind: it stops counting at
`expires_at`, RESERVATION_TTL_S after it was made (the database's clock, so machines' clocks do not matter), and
is deleted by a later reservation. 15 minutes is far longer than a request runs under its timeouts (a chain of
a few attempts, each bounded by connect + first-token + idle timeouts), and short enough that a crash costs
the team a quarter of an hour of that amount of budget at most.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from routecli.errors import BudgetError, LedgerError
from routecli.ledger.store import NANO, Ledger
from routecli.ledger.writeahead import IN_FLIGHT
from routecli.policy.prices import money
from routecli.values import frozen

RESERVATION_TTL_S = 15 * 60
BUDGET_LOCK = 0x726F75746542  # "routeB": one scope per ledger, covering the team's and every user's budgets
_COST = 6  # index of cost_nano in a Sums row


@frozen
class Limits:
    """The budgets a reservation is checked against (None: no such budget)."""

    per_day: Decimal | None = None
    per_month: Decimal | None = None
    per_user_day: Decimal | None = None
    per_user_month: Decimal | None = None

    def any(self) -> bool:
        return any(v is not None for v in (self.per_day, self.per_month, self.per_user_day, self.per_user_month))


@frozen
class _Scope:
    budget: Decimal
    name: str  # for the message: "the team's daily budget"
    since: float
    user: str | None  # None: everyone's spend


def reserve(
    ledger: Ledger,
    limits: Limits,
    amount: Decimal,
    request_id: str,
    user: str | None,
    starts: tuple[float, float],
    now: float,
) -> int:
    """Reserve `amount` against every budget in `limits` (today and this month start at `starts`), or raise
    BudgetError (exit 6) naming what is spent, what is reserved and the budget. Returns the reservation's id."""
    import psycopg

    day, month = starts
    wanted = [(limits.per_day, "the team's daily budget", day, None),
              (limits.per_month, "the team's monthly budget", month, None)]
    if user is not None:  # a user with no name has no budget of their own
        wanted += [(limits.per_user_day, f"{user}'s daily budget", day, user),
                   (limits.per_user_month, f"{user}'s monthly budget", month, user)]
    scopes = [_Scope(limit, name, since, who) for limit, name, since, who in wanted if limit is not None]
    nano = int((amount * NANO).to_integral_value())
    conn = ledger.conn
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (BUDGET_LOCK,))
            conn.execute("DELETE FROM reservations WHERE expires_at <= now()")  # left by processes that died
            for scope in scopes:
                spent = _spent(ledger, scope, now)
                held = _reserved(conn, scope)
                if spent + held + amount > scope.budget:
                    raise BudgetError(
                        f"refused by {scope.name} of {money(scope.budget, 2)}: {money(spent, 2)} spent, "
                        f"{money(held, 2)} reserved by calls in flight, and this request may cost {money(amount)}"
                    )
            row = conn.execute(
                "INSERT INTO reservations (request_id, user_name, day, ts, amount_nano, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s)) RETURNING id",
                (request_id, user, datetime.fromtimestamp(now).strftime("%Y-%m-%d"), now, nano, RESERVATION_TTL_S),
            ).fetchone()
    except psycopg.Error as error:
        raise LedgerError(f"cannot reserve in the ledger database: {str(error).strip().splitlines()[0]}") from None
    return int(row[0])


def release(ledger: Ledger, reservation: int) -> None:
    import psycopg

    try:
        ledger.conn.execute("DELETE FROM reservations WHERE id = %s", (reservation,))
    except psycopg.Error as error:
        raise LedgerError(f"cannot release a reservation: {str(error).strip().splitlines()[0]}") from None


def _spent(ledger: Ledger, scope: _Scope, now: float) -> Decimal:
    """What the settled rows cost, plus the rows written ahead that no live reservation covers any more (a process
    that died: the call may have been billed). A running call's in-flight row is not counted here: its request's
    reservation, at the same worst case or more, already is."""
    keys = ("status",) if scope.user is None else ("user_name", "status")
    total = 0
    for key, sums in ledger.aggregate(keys, scope.since, None).items():
        if scope.user is not None and key[0] != scope.user:
            continue
        if key[-1] != IN_FLIGHT:
            total += sums[_COST]
    sql = "SELECT COALESCE(SUM(cost_nano), 0) FROM attempts WHERE status = %s AND ts >= %s AND ts < %s"
    params: tuple[Any, ...] = (IN_FLIGHT, scope.since, now - RESERVATION_TTL_S)
    if scope.user is not None:
        sql += " AND user_name = %s"
        params += (scope.user,)
    total += int(ledger.conn.execute(sql, params).fetchone()[0])
    return Decimal(total) / NANO


def _reserved(conn: Any, scope: _Scope) -> Decimal:
    # Expired reservations were deleted just before, under the same lock: every one left is live.
    sql = "SELECT COALESCE(SUM(amount_nano), 0) FROM reservations WHERE ts >= %s"
    params: tuple[Any, ...] = (scope.since,)
    if scope.user is not None:
        sql += " AND user_name = %s"
        params += (scope.user,)
    return Decimal(conn.execute(sql, params).fetchone()[0]) / NANO
