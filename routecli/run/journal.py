"""The ledger rows of one request: every attempt written ahead before its request leaves, settled at the end.

An attempt is recorded as 'in_flight' at its worst-case estimate before anything is sent (a local SQLite
write, about a millisecond), so Ctrl-C, SIGTERM, SIGHUP, and even SIGKILL or a power cut leave every call
that was sent in the ledger; when the request ends, the attempts that finished (ok, failed, interrupted)
are written in one transaction that settles those rows in place. A ledger that cannot be written keeps
both in the pending file (`ledger/record.py`), where the settled line follows the in-flight one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from routecli.errors import LedgerError
from routecli.ledger import attribution
from routecli.ledger.record import record
from routecli.ledger.target import ledger_target
from routecli.paths import Paths
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
    ) -> None:
        self.plan = plan
        self.paths = paths
        self.command = command
        self.log_prompts = log_prompts
        self.notice = notice
        self.request_id = new_request_id()
        self.target = ledger_target(paths)  # the file, or the database a team shares
        self.by = attribution.current(tag)  # who makes these calls: every row of the request carries it
        self.finished: list[StagedAttempt] = []  # appended from the chunk threads too (list.append is atomic)
        self._lock = threading.Lock()  # one notice about a repaired ledger, not one per thread

    def ahead(self, stage: str | None, estimate: Attempt) -> None:
        """Write the in-flight row of an attempt about to be sent. Never raises: the reply comes first, and
        a ledger that cannot take it keeps the row pending; the settling write reports that (exit 8)."""
        rows = rows_for(self.plan, [(stage, estimate)], self.command, self.log_prompts, self.request_id, self.by)
        try:
            repaired = record(self.target, rows)
        except LedgerError:
            return
        if repaired and not self.target.shared:  # a shared ledger away: the settling write says where rows wait
            with self._lock:
                self.notice(repaired)

    def done(self, stage: str | None, attempt: Attempt) -> None:
        self.finished.append((stage, attempt))

    def attempts(self) -> list[Attempt]:
        return [attempt for _, attempt in self.finished]

    def settle(self) -> str | None:
        """Write every finished attempt, settling its row; raises LedgerError. Returns a repair notice."""
        rows = rows_for(self.plan, self.finished, self.command, self.log_prompts, self.request_id, self.by)
        return record(self.target, rows)
