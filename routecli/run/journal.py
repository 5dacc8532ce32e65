"""The ledger rows of one request: every attempt written ahead before its request leaves, settled at the end.

An attempt is recorded as 'in_flight' at its worst-case estimate before anything is sent (a local SQLite
write, about a millisecond), so Ctrl-C, SIGTERM, SIGHUP, and even SIGKILL or a power cut leave every call
that was sent in the ledger; when the request ends, the attempts that finished (ok, failed, interrupted)
are written in one transaction that settles those rows in place. A ledger that cannot be written keeps
both in the pending file (`ledger/record.py`), where the settled line follows the in-flight one.
Writing ahead is also where the daily and monthly budgets are checked against every process's calls
(ledger/admission.py): a refusal there stops the attempt before it is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from routecli.errors import LedgerError
from routecli.ledger import attribution
from routecli.ledger.admission import Admission
from routecli.ledger.record import record
from routecli.ledger.target import ledger_target
from routecli.paths import Paths
from routecli.policy.prices import money
from routecli.policy.types import Budgets
from routecli.routing.plan import Plan
from routecli.run.attempts import Attempt
from routecli.run.record import new_request_id, rows_for

StagedAttempt = tuple[str | None, Attempt]  # the stage ("map 3/12", None for a single call) and the attempt


class Journal:
    def __init__(
        self,
        plan: Plan,
        paths: Paths,
        command: str,
        log_prompts: bool,
        notice: Callable[[str], None],
        tag: str | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        """`budgets`: checked again as each attempt is written ahead (ledger/admission.py), against what the
        ledger holds by then, other processes' calls in flight included."""
        self.plan = plan
        self.budgets = budgets
        self.paths = paths
        self.command = command
        self.log_prompts = log_prompts
        self.notice = notice
        self.request_id = new_request_id()
        self.target = ledger_target(paths)  # the file, or the database a team shares
        self.by = attribution.current(tag)  # who makes these calls: every row of the request carries it
        self.finished: list[StagedAttempt] = []  # appended from the chunk threads too (list.append is atomic)
        self._lock = threading.Lock()  # one notice about a repaired ledger, not one per thread
        self._said_unchecked = False  # the notice that budgets fell back to the spend read at start, once

    def ahead(self, stage: str | None, estimate: Attempt) -> None:
        """Write the in-flight row of an attempt about to be sent, admitted against the budgets in the same
        transaction: BudgetError (exit 6) when it would cross one, and then nothing is sent. Otherwise never
        raises: the reply comes first, and a ledger that cannot take the row keeps it pending; the settling
        write reports that (exit 8)."""
        rows = rows_for(self.plan, [(stage, estimate)], self.command, self.log_prompts, self.request_id, self.by)
        admission = self._admission(estimate)
        try:
            recorded = record(self.target, rows, admission.check if admission else None)
        except LedgerError:
            if admission is not None:
                self._say_unchecked()
            return
        with self._lock:  # a shared ledger away: the settling write says where rows wait, once
            for line in recorded.notices:
                self.notice(line)

    def _admission(self, estimate: Attempt) -> Admission | None:
        """None when nothing is to be checked here: no daily or monthly budget, an unpriced model (it cannot be
        bounded, as for the plan's check), or a shared ledger, which reserves whole requests (run/budget_hold.py)."""
        if self.budgets is None or self.target.shared or estimate.cost_usd is None:
            return None
        admission = Admission(estimate.cost_usd, self.budgets.per_day, self.budgets.per_month)
        return admission if admission.wanted() else None

    def _say_unchecked(self) -> None:
        """The ledger cannot take the row: the run's cap (run/capguard.py), from the spend read at start, is
        the only budget check left; other processes' calls are not seen."""
        state = self.plan.state
        with self._lock:
            if self._said_unchecked:
                return
            self._said_unchecked = True
            self.notice(
                f"the ledger cannot be written: budgets were checked against the spend read at start "
                f"({money(state.spent_today)} today, {money(state.spent_month)} this month), not against calls "
                "other runs have started since"
            )

    def done(self, stage: str | None, attempt: Attempt) -> None:
        self.finished.append((stage, attempt))

    def attempts(self) -> list[Attempt]:
        return [attempt for _, attempt in self.finished]

    def settle(self) -> tuple[str, ...]:
        """Write every finished attempt, settling its row; raises LedgerError. Returns the notices to show (a
        ledger repaired, unreadable pending lines set aside, a shared ledger away)."""
        rows = rows_for(self.plan, self.finished, self.command, self.log_prompts, self.request_id, self.by)
        recorded = record(self.target, rows)
        return recorded.notices + ((recorded.waiting,) if recorded.waiting else ())
