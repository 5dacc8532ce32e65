"""Executing a Decision: walk the chain, one attempt at a time, with retries, fallbacks and cooldowns.

The only module that talks to providers (through the adapters, which it never looks behind). It does
not render: text goes to `Output.emit`, notices to `Output.notice`, and every attempt, whatever its
outcome, to `on_attempt` (the ledger records them).

What a failure means is decided in one table, `_ACTION`:
- retry the same model (rate limits, server errors, overload, timeouts), a bounded number of times and
  only when the wait is short, or when there is nothing to fall back to;
- fall back to the next model (auth, model not found, context overflow, retries used up, stream broken);
- give up (a bad request no other model would accept either).

A failure after text was already streamed cannot be taken back from a pipe. The next model is asked to
continue the partial answer, and a notice on stderr says so; with `--no-stream`, `--json` or a task that
needs validation, output is held back until a reply has passed its checks, so nothing partial is printed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from routecli.errors import ProviderFailure
from routecli.ledger import cooldowns
from routecli.paths import Paths
from routecli.policy.environment import Environment
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.providers.base import (
    ChatRequest,
    Endpoint,
    ErrorKind,
    ProviderError,
    StreamEnd,
    TextDelta,
    Timeouts,
    UsageReport,
)
from routecli.providers.guard import CALL_TIMING, Timing
from routecli.routing.decide import Decision, output_reserve
from routecli.routing.options import RequestOptions
from routecli.routing.tokens import bounds

RETRY = "retry"
FALLBACK = "fallback"
GIVE_UP = "give_up"

# What each kind of failure means for this request; see the module docstring.
_ACTION: dict[ErrorKind, str] = {
    ErrorKind.RATE_LIMITED: RETRY,
    ErrorKind.OVERLOADED: RETRY,
    ErrorKind.SERVER: RETRY,
    ErrorKind.TIMEOUT: RETRY,
    ErrorKind.CONNECT: FALLBACK,  # refused / unreachable: retrying at once rarely helps
    ErrorKind.AUTH: FALLBACK,
    ErrorKind.NOT_FOUND: FALLBACK,
    ErrorKind.CONTEXT_OVERFLOW: FALLBACK,
    ErrorKind.STREAM_BROKEN: FALLBACK,
    ErrorKind.BAD_REQUEST: GIVE_UP,
}
# Trouble that is the provider's as a whole: retrying it while a fallback waits only adds latency.
_PROVIDER_WIDE = {ErrorKind.OVERLOADED, ErrorKind.CONNECT, ErrorKind.TIMEOUT}
# How long a failing provider (or model, for rate limits) is skipped by later runs, in seconds.
_COOLDOWN: dict[ErrorKind, tuple[str, float]] = {
    ErrorKind.OVERLOADED: ("provider", 60.0),
    ErrorKind.SERVER: ("provider", 30.0),
    ErrorKind.CONNECT: ("provider", 60.0),
    ErrorKind.TIMEOUT: ("provider", 60.0),
    ErrorKind.RATE_LIMITED: ("model", 30.0),
}
MAX_RETRIES = 2  # per model, after the first try
BACKOFF = 0.5  # seconds, doubled each retry
MAX_WAIT = 20.0  # the longest Retry-After we honour when there is no fallback
MAX_WAIT_WITH_FALLBACK = 1.0  # ... and when there is one to switch to instead

CONTINUE_INSTRUCTION = (
    "Your previous reply was cut off. Continue it exactly from where it stops, without repeating "
    "anything and without any preamble. The reply so far:\n\n"
)


@dataclass
class Attempt:
    """One call to one model. Complete even when interrupted, so the ledger can record it."""

    alias: str
    provider: str
    model_id: str
    position: int  # index of the model in the decision's chain
    try_number: int  # 0 for the first try of this model, 1.. for retries
    started_at: float
    status: str = "running"  # ok | error | fallback | interrupted | validation_failed | retry
    error_kind: str | None = None
    error: str | None = None
    http_status: int | None = None
    reported_model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_estimated: bool = False
    cost_usd: Decimal | None = None
    stop_reason: str | None = None
    # Provider time, from the request going out: to the response headers, the first text, the end. route's
    # own time (before sending, and loading an SDK on the sdk transport) is overhead_s; that loading runs
    # while the provider works, so there the provider's times are upper bounds (exact on raw: no loading).
    first_token_s: float | None = None
    total_s: float | None = None
    first_byte_s: float | None = None
    overhead_s: float | None = None
    text: str = ""
    continued_from: int = 0  # characters of an earlier partial answer this attempt continued
    failure: ProviderError | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "alias": self.alias,
            "provider": self.provider,
            "model_id": self.model_id,
            "reported_model_id": self.reported_model_id,
            "position": self.position,
            "try": self.try_number,
            "status": self.status,
            "error_kind": self.error_kind,
            "error": self.error,
            "http_status": self.http_status,
            "usage": {
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cached_input_tokens": self.cached_input_tokens,
                "cache_write_tokens": self.cache_write_tokens,
                "reasoning_tokens": self.reasoning_tokens,
                "estimated": self.usage_estimated,
            },
            "cost_usd": None if self.cost_usd is None else float(self.cost_usd),
            "stop_reason": self.stop_reason,
            "first_token_s": self.first_token_s,
            "total_s": self.total_s,
            "first_byte_s": self.first_byte_s,
            "overhead_s": self.overhead_s,
            "continued_from_chars": self.continued_from,
        }


@dataclass
class Outcome:
    text: str
    attempts: list[Attempt] = field(default_factory=list)
    final: Attempt | None = None

    @property
    def cost_usd(self) -> Decimal | None:
        costs = [a.cost_usd for a in self.attempts]
        if any(c is None for c in costs):
            return None
        return sum(costs, Decimal(0))  # type: ignore[arg-type]


class Output(Protocol):
    def emit(self, text: str) -> None: ...

    def notice(self, message: str) -> None: ...


class OutputClosed(Exception):
    """Raised by an Output whose reader went away (`route ask ... | head -1`)."""


class Interrupted(Exception):
    """Ctrl-C (or a closed stdout) during a call; carries the outcome so far, attempt marked interrupted."""

    def __init__(self, outcome: Outcome, closed: bool = False) -> None:
        super().__init__("interrupted")
        self.outcome = outcome
        self.closed = closed


@dataclass(frozen=True)
class CallSettings:
    system: str | None
    prompt: str
    stream_to_output: bool  # False: hold text back until a reply passes its checks
    use_streaming_api: bool  # False for --no-stream
    validate: bool


def endpoint_for(policy: Policy, environment: Environment, alias: str) -> Endpoint:
    provider = policy.providers[policy.models[alias].provider]
    access = environment.access[provider.name]
    return Endpoint(provider.name, provider.wire, access.base_url, access.key, provider.transport)


def timeouts_for(policy: Policy, alias: str) -> Timeouts:
    t = policy.models[alias].timeouts or policy.timeouts
    return Timeouts(connect=t.connect, first_token=t.first_token, idle=t.idle)


def _estimate_tokens(text: str) -> int:
    return bounds(text.encode("utf-8")).value if text else 0


def _finish_costs(attempt: Attempt, prices: PriceTable, prompt_tokens: int) -> None:
    """Fill in usage the provider did not report (marked estimated) and the exact cost.

    A call that failed before any text or usage came back (a 429, a refused connection) is not billed:
    it is recorded with zero tokens and $0, which is what the provider charges for it.
    """
    unreported = attempt.input_tokens is None and attempt.output_tokens is None
    if attempt.status == "error" and unreported and not attempt.text:
        attempt.input_tokens = attempt.output_tokens = 0
        attempt.cost_usd = Decimal(0)
        return
    if attempt.input_tokens is None:
        attempt.input_tokens = prompt_tokens
        attempt.usage_estimated = True
    if attempt.output_tokens is None:
        attempt.output_tokens = _estimate_tokens(attempt.text)
        attempt.usage_estimated = True
    price = prices.get(attempt.alias)
    if price is not None:
        attempt.cost_usd = price.cost(
            attempt.input_tokens, attempt.output_tokens,
            attempt.cached_input_tokens or 0, attempt.cache_write_tokens or 0,
        )


def _apply_usage(attempt: Attempt, usage: UsageReport) -> None:
    """Record usage as the adapter reported it (already normalised: input_tokens is every prompt token)."""
    attempt.input_tokens = usage.input_tokens
    attempt.output_tokens = usage.output_tokens
    attempt.cached_input_tokens = usage.cached_input_tokens
    attempt.cache_write_tokens = usage.cache_write_tokens
    attempt.reasoning_tokens = usage.reasoning_tokens
    attempt.reported_model_id = usage.model_id


def check_reply(attempt: Attempt, validate: bool) -> str | None:
    """Why this reply is not acceptable, or None. Every reply must be non-empty and complete."""
    if not attempt.text.strip():
        return "empty reply"
    if attempt.stop_reason == "max_tokens":
        return "reply cut off by the token limit"
    if validate and attempt.stop_reason not in ("end", None):
        return f"reply ended abnormally ({attempt.stop_reason})"
    return None


def _wait_for(error: ProviderError, try_number: int, has_fallback: bool) -> float | None:
    """Seconds to wait before retrying the same model, or None to move on."""
    if _ACTION[error.kind] != RETRY or try_number >= MAX_RETRIES:
        return None
    if has_fallback and error.kind in _PROVIDER_WIDE:
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


class Executor:
    def __init__(
        self,
        policy: Policy,
        environment: Environment,
        prices: PriceTable,
        paths: Paths,
        output: Output,
        on_attempt: Callable[[Attempt], None] = lambda attempt: None,
        sleep: Callable[[float], None] = time.sleep,
        pauses: RateLimitPauses | None = None,
    ) -> None:
        self.policy = policy
        self.environment = environment
        self.prices = prices
        self.paths = paths
        self.output = output
        self.on_attempt = on_attempt
        self.sleep = sleep
        self.pauses = pauses

    def run(self, decision: Decision, options: RequestOptions, call: CallSettings) -> Outcome:
        outcome = Outcome(text="")
        chain = list(decision.chain)
        prompt_tokens = decision.tokens.value
        partial = ""  # text already shown that the next model must continue
        last_error: ProviderError | None = None
        for position, alias in enumerate(chain):
            has_fallback = position + 1 < len(chain)
            try_number = 0
            while True:
                attempt = self._attempt(alias, position, try_number, options, call, partial, prompt_tokens, outcome)
                if attempt.status == "ok":
                    failed_check = check_reply(attempt, call.validate)
                    if failed_check is None:
                        outcome.text = partial + attempt.text if call.stream_to_output else attempt.text
                        outcome.final = attempt
                        self.on_attempt(attempt)
                        return outcome
                    attempt.status = "validation_failed"
                    attempt.error = failed_check
                    self.on_attempt(attempt)
                    partial = self._carry_over(partial, attempt, call)
                    if has_fallback:
                        self.output.notice(f"{alias}: {failed_check}; escalating to {chain[position + 1]}")
                    last_error = ProviderError(ErrorKind.BAD_REQUEST, failed_check)
                    break
                error = attempt.failure
                assert error is not None  # an attempt that is not ok has failed
                last_error = error
                shown = bool(attempt.text) and call.stream_to_output  # output started: no clean retry
                wait = None if shown else _wait_for(error, try_number, has_fallback)
                if wait is not None:
                    attempt.status = "retry"
                    self.on_attempt(attempt)
                    self.output.notice(f"{alias}: {error.message}; retrying in {wait:g}s")
                    self.sleep(wait)
                    try_number += 1
                    continue
                self._cool_down(alias, error)
                attempt.status = "fallback" if has_fallback else "error"
                self.on_attempt(attempt)
                partial = self._carry_over(partial, attempt, call)
                if _ACTION[error.kind] == GIVE_UP:
                    raise ProviderFailure(f"{alias} rejected the request: {error.message}")
                if has_fallback:
                    shown = f" after {len(attempt.text)} characters" if attempt.text and call.stream_to_output else ""
                    how = "continuing with" if partial and call.stream_to_output else "falling back to"
                    self.output.notice(f"{alias} failed{shown} ({error.message}); {how} {chain[position + 1]}")
                break
        outcome.text = partial
        what = last_error.message if last_error else "no model to try"
        raise ProviderFailure(f"every model in the chain failed; last error: {what}")

    def _carry_over(self, partial: str, attempt: Attempt, call: CallSettings) -> str:
        """Text already printed stays printed: the next model continues it. Held-back text is dropped."""
        if call.stream_to_output and attempt.text:
            return partial + attempt.text
        return partial

    def _cool_down(self, alias: str, error: ProviderError) -> None:
        rule = _COOLDOWN.get(error.kind)
        if rule is None:
            return
        scope, seconds = rule
        if error.retry_after is not None:
            seconds = max(seconds if scope == "provider" else 0.0, error.retry_after)
        model = self.policy.models[alias]
        key = f"provider:{model.provider}" if scope == "provider" else f"model:{alias}"
        reason = f"{error.status} {error.kind.value}" if error.status else error.kind.value
        cooldowns.add(self.paths.cooldowns, key, seconds, reason)

    def _attempt(
        self,
        alias: str,
        position: int,
        try_number: int,
        options: RequestOptions,
        call: CallSettings,
        partial: str,
        prompt_tokens: int,
        outcome: Outcome,
    ) -> Attempt:
        from routecli.providers import get_adapter

        model = self.policy.models[alias]
        endpoint = endpoint_for(self.policy, self.environment, alias)
        if self.pauses is not None:
            self.pauses.wait(model.provider, self.sleep)
        prompt = call.prompt if not partial else call.prompt + "\n\n" + CONTINUE_INSTRUCTION + partial
        request = ChatRequest(
            model_id=model.model_id,
            prompt=prompt,
            max_tokens=output_reserve(model, self.policy, options),
            system=call.system,
            stream=call.use_streaming_api,
        )
        attempt = Attempt(alias, model.provider, model.model_id, position, try_number, time.time())
        attempt.continued_from = len(partial)
        outcome.attempts.append(attempt)
        clock = time.monotonic()
        timing = Timing()
        CALL_TIMING.set(timing)  # this thread's next adapter call fills it in
        tokens_in = prompt_tokens if not partial else prompt_tokens + _estimate_tokens(partial)
        try:
            for event in get_adapter(endpoint.wire)(endpoint, request, timeouts_for(self.policy, alias)):
                if isinstance(event, TextDelta):
                    if attempt.first_token_s is None:
                        attempt.first_token_s = _provider_seconds(clock, timing)
                    attempt.text += event.text
                    if call.stream_to_output:
                        self.output.emit(event.text)
                elif isinstance(event, UsageReport):
                    _apply_usage(attempt, event)
                elif isinstance(event, StreamEnd):
                    attempt.stop_reason = event.stop_reason
            attempt.status = "ok"
        except ProviderError as error:
            attempt.status = "error"
            attempt.error_kind = error.kind.value
            attempt.error = error.message
            attempt.http_status = error.status
            attempt.failure = error
            if self.pauses is not None and error.kind == ErrorKind.RATE_LIMITED:
                self.pauses.hold(model.provider, error.retry_after or BACKOFF)
        except (KeyboardInterrupt, OutputClosed) as stop:
            attempt.status = "interrupted"
            attempt.error = "interrupted by the user" if isinstance(stop, KeyboardInterrupt) else "output closed"
            _finish_timing(attempt, clock, timing)
            _finish_costs(attempt, self.prices, tokens_in)
            outcome.text = partial + attempt.text
            self.on_attempt(attempt)
            raise Interrupted(outcome, closed=isinstance(stop, OutputClosed)) from None
        _finish_timing(attempt, clock, timing)
        _finish_costs(attempt, self.prices, tokens_in)
        return attempt


def _provider_seconds(clock: float, timing: Timing) -> float:
    """Seconds since the request went out (since the attempt began if it never did)."""
    return round(time.monotonic() - (timing.sent or clock), 4)


def _finish_timing(attempt: Attempt, clock: float, timing: Timing) -> None:
    attempt.total_s = _provider_seconds(clock, timing)
    if timing.sent is not None and timing.first_byte is not None:
        attempt.first_byte_s = round(timing.first_byte - timing.sent, 4)
    attempt.overhead_s = round((timing.sent or clock) - clock + timing.local_s, 4)
