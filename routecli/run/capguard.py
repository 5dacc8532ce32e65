"""The one check before every attempt (first tries, retries, fallbacks, chunks, combining calls): would its
worst case cross what the run may spend? Shared by the parallel chunk calls of one run, so together they stay
under the cap: an attempt reserves its worst case before it starts and settles to its real cost after."""

from __future__ import annotations

import threading
from decimal import Decimal

from routecli.policy.prices import Price
from routecli.routing.caps import Cap, CapReached, UnpricedUnderCap, attempt_worst


class CapGuard:
    def __init__(self, cap: Cap | None) -> None:
        self.cap = cap
        self.spent = Decimal(0)  # what finished attempts cost
        self._reserved = Decimal(0)  # the worst cases of attempts in flight
        self._lock = threading.Lock()

    def reserve(self, alias: str, price: Price | None, input_tokens: int, max_output: int) -> Decimal:
        """Reserve this attempt's worst case, or raise CapReached (exit 6) before anything is sent. An unpriced
        model cannot be bounded: with no cap it passes; under one it is refused (UnpricedUnderCap, exit 6)."""
        worst = attempt_worst(price, input_tokens, max_output)
        if self.cap is None:
            return Decimal(0)
        if worst is None:
            raise UnpricedUnderCap(self.cap, alias)
        with self._lock:
            if self.spent + self._reserved + worst > self.cap.amount:
                raise CapReached(self.spent, self.cap, alias, worst)
            self._reserved += worst
        return worst

    def settle(self, reserved: Decimal, cost: Decimal | None) -> None:
        with self._lock:
            self._reserved -= reserved
            self.spent += cost or Decimal(0)
