"""What a failure means: one table decides retry, fall back or give up, how long to wait, and what cools down.

- retry the same model (rate limits, server errors, overload, timeouts), a bounded number of times and
  only when the wait is short, or when there is nothing to fall back to;
- fall back to the next model (auth, model not found, context overflow, retries used up, stream broken);
- give up (a bad request no other model would accept either).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from routecli.providers.base import ErrorKind, ProviderError

RETRY = "retry"
FALLBACK = "fallback"
GIVE_UP = "give_up"

# What each kind of failure means for this request; see the module docstring.
ACTION: dict[ErrorKind, str] = {
    ErrorKind.RATE_LIMITED: RETRY,
    ErrorKind.OVERLOADED: RETRY,
    ErrorKind.SERVER: RETRY,
    ErrorKind.NO_RESPONSE: RETRY,  # at most once (RETRIES_OF): another connection may reach a live server
    ErrorKind.TIMEOUT: FALLBACK,  # the model had its whole first-token (or idle) time: asking again doubles it
    ErrorKind.CONNECT: FALLBACK,  # refused / unreachable: retrying at once rarely helps
    ErrorKind.AUTH: FALLBACK,
    ErrorKind.NOT_FOUND: FALLBACK,
    ErrorKind.CONTEXT_OVERFLOW: FALLBACK,
    ErrorKind.STREAM_BROKEN: FALLBACK,
    ErrorKind.BAD_REQUEST: GIVE_UP,
}
# Trouble that is the provider's as a whole: retrying it while a fallback waits only adds latency.
PROVIDER_WIDE = {ErrorKind.OVERLOADED, ErrorKind.CONNECT, ErrorKind.TIMEOUT, ErrorKind.NO_RESPONSE}
# How long a failing provider (or model, for rate limits) is skipped by later runs, in seconds.
COOLDOWN: dict[ErrorKind, tuple[str, float]] = {
    ErrorKind.OVERLOADED: ("provider", 60.0),
    ErrorKind.SERVER: ("provider", 30.0),
    ErrorKind.CONNECT: ("provider", 60.0),
    ErrorKind.TIMEOUT: ("provider", 60.0),
    ErrorKind.NO_RESPONSE: ("provider", 60.0),
    ErrorKind.RATE_LIMITED: ("model", 30.0),
}
# The longest cooldown a Retry-After sets (`Retry-After: 99999999` or a date in 2099 would shelve a model for
# years); a wait before retrying is bounded by MAX_WAIT below.
MAX_COOLDOWN = 3600.0
MAX_RETRIES = 2  # per model, after the first try
# Fewer for a silent provider: two headers timeouts (10 s each by default) and the back-off stay within 30 s.
RETRIES_OF = {ErrorKind.NO_RESPONSE: 1}
BACKOFF = 0.5  # seconds, doubled each retry
MAX_WAIT = 20.0  # the longest Retry-After we honour when there is no fallback
MAX_WAIT_WITH_FALLBACK = 1.0  # ... and when there is one to switch to instead


def wait_before_retry(error: ProviderError, try_number: int, has_fallback: bool) -> float | None:
    """Seconds to wait before retrying the same model, or None to move on."""
    if ACTION[error.kind] != RETRY or try_number >= RETRIES_OF.get(error.kind, MAX_RETRIES):
        return None
    if has_fallback and error.kind in PROVIDER_WIDE:
        return None
    wait = error.retry_after if error.retry_after is not None else BACKOFF * (2**try_number)
    limit = MAX_WAIT_WITH_FALLBACK if has_fallback else MAX_WAIT
    return wait if wait <= limit else None


class RateLimitPauses:
    """Shared by the parallel calls of one map-reduce run: a 429 from a provider pauses every call to it
    until its Retry-After has passed, instead of letting the other chunks keep hitting the limit."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def hold(self, provider: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + min(seconds, MAX_WAIT)
            self._until[provider] = max(self._until.get(provider, 0.0), until)

    def wait(self, provider: str, sleep: Callable[[float], None]) -> None:
        with self._lock:
            left = self._until.get(provider, 0.0) - time.monotonic()
        if left > 0:
            sleep(left)


