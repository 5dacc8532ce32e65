"""Short ids that sort by time: base36 milliseconds (fixed width) then random letters, e.g. `mi3k2x9q0a7fz`.

Sorting by id sorts by creation; a unique prefix is enough to name one (`route log show mi3k2`)."""

from __future__ import annotations

import os
import time

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_TIME_WIDTH = 9  # 36**9 ms is about 3,200 years: wide enough that the width never changes
_RANDOM_WIDTH = 4


def _base36(number: int, width: int) -> str:
    text = ""
    while number:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
    return text.rjust(width, "0")


def new_id(now: float | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000)
    # os.urandom rather than the secrets module, whose import (hashlib, OpenSSL) costs ~5 ms on every run
    return _base36(millis, _TIME_WIDTH) + "".join(_DIGITS[byte % 36] for byte in os.urandom(_RANDOM_WIDTH))


def looks_like_id(text: str) -> bool:
    """Ids and prefixes are base36 only: anything else is refused before it reaches a query."""
    return bool(text) and all(ch in _DIGITS for ch in text.lower())
