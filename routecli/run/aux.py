"""One auxiliary call: a short, non-streamed side question to a named model (a reviewer's verdict, the model
classifier's answer), through the same adapters and endpoints as the answer, recorded as an Attempt that the
caller files under its stage (`review`, `classify`). No retry, no fallback: a failure is on the attempt, and
the caller says what it means (the reviewer is unavailable, the learned classifier decides).

Like every main attempt, a side call is written ahead (`on_start`, the caller's run/journal.py) at its worst case
before its request leaves, so a SIGKILL during a review leaves it in the ledger as unsettled, not lost."""

from __future__ import annotations

import time
from collections.abc import Callable

from routecli.policy.environment import Environment
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.providers.base import ChatRequest, ProviderError
from routecli.providers.guard import CALL_TIMING, Timing
from routecli.run.attempts import (
    Attempt,
    Interrupted,
    Outcome,
    estimate_tokens,
    finish_costs,
    in_flight,
    take_event,
)
from routecli.run.executor import endpoint_for, timeouts_for


def call_aux(
    policy: Policy,
    environment: Environment,
    prices: PriceTable,
    alias: str,
    prompt: str,
    max_tokens: int,
    on_attempt: Callable[[Attempt], None],
    on_start: Callable[[Attempt], None],
) -> Attempt:
    """Ask `alias` once and return the attempt: status "ok" with its text, or "error" with the failure.
    `on_start` gets its in-flight estimate before the request leaves (the journal writes it ahead; a budget
    refusal raised there sends nothing and records nothing); `on_attempt` gets the attempt right after, so even
    a Ctrl-C leaves it to be recorded."""
    from routecli.providers import get_adapter

    model = policy.models[alias]
    endpoint = endpoint_for(policy, environment, alias)
    request = ChatRequest(model.model_id, prompt, min(max_tokens, model.max_output), stream=False)
    attempt = Attempt(alias, model.provider, model.shown_id, 0, 0, time.time())
    on_start(in_flight(attempt, prices, estimate_tokens(prompt), request.max_tokens))  # before it is sent
    on_attempt(attempt)
    clock = time.monotonic()
    timing = Timing()
    CALL_TIMING.set(timing)
    try:
        for event in get_adapter(endpoint.wire)(endpoint, request, timeouts_for(policy, alias)):
            take_event(attempt, event)
        attempt.status = "ok"
    except ProviderError as error:
        attempt.failed(error)
    except KeyboardInterrupt as stop:  # SIGTERM / SIGHUP too: the row says which
        attempt.stopped(stop)
        _finish(attempt, clock, timing, prices, prompt)
        raise Interrupted(Outcome("", [attempt]), stop=stop) from None
    _finish(attempt, clock, timing, prices, prompt)
    return attempt


def _finish(attempt: Attempt, clock: float, timing: Timing, prices: PriceTable, prompt: str) -> None:
    attempt.total_s = round(time.monotonic() - (timing.sent or clock), 4)
    attempt.overhead_s = round((timing.sent or clock) - clock + timing.local_s, 4)
    finish_costs(attempt, prices, estimate_tokens(prompt))
