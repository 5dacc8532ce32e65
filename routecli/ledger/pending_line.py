"""One line of a pending file made back into the ledger's column values, or refused (ValueError / TypeError).

A line is refused rather than written when the ledger would reject it (a NOT NULL column missing) or store
something its reports cannot read (a number that is text, an integer too large for SQLite or PostgreSQL): one
such line must never fail the import of the others, or the rows of the call being recorded with them.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from routecli.ledger.store import COLUMNS

_REQUIRED = frozenset(
    ("ts", "day", "request_id", "command", "alias", "provider", "model_id", "chain_position", "try_number", "status")
)
_INTEGERS = frozenset(
    (
        "chain_position", "try_number", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
        "reasoning_tokens", "usage_estimated", "cost_nano", "complexity", "decision_tokens", "input_bytes",
    )
)
_REALS = frozenset(("ts", "first_token_s", "total_s", "first_byte_s", "overhead_s"))
_INT_LIMIT = 2**63  # SQLite's INTEGER and PostgreSQL's BIGINT


def row_values(line: Any) -> tuple[Any, ...]:
    """The values of one pending row in COLUMNS' order; a row from an older route lacks newer columns (None)."""
    if not isinstance(line, dict):
        raise TypeError("not a row")
    values = []
    for column in COLUMNS:
        value = line.get(column)
        if value is None and column == "usage_estimated":
            value = 0  # NOT NULL DEFAULT 0: an explicit NULL would be refused
        if value is None:
            if column in _REQUIRED:
                raise ValueError(f"no {column}")
        elif column in _INTEGERS:
            if type(value) is not int or not -_INT_LIMIT < value < _INT_LIMIT:
                raise ValueError(f"{column} is not an integer")
        elif column in _REALS:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ValueError(f"{column} is not a number")
        elif not isinstance(value, str):
            raise TypeError(f"{column} is not text")
        elif column == "cost_usd" and not Decimal(value).is_finite():  # decimal.InvalidOperation: ArithmeticError
            raise ValueError("cost_usd is not a finite amount")
        values.append(value)
    return tuple(values)
