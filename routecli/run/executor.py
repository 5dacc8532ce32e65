"""Executing a Decision: walk the chain, one attempt at a time, with retries, fallbacks and cooldowns.

The only module that talks to providers (through the adapters, which it never looks behind). It does
not render: text goes to `Output.emit`, notices to `Output.notice`, and every attempt, whatever its
outcome, to `on_attempt` (the ledger records them). A budget found spent as an attempt is written ahead
(other runs' calls) moves the rest of the chain to what the planner's downgrade gives (routing/late_budget.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

from routecli.errors import BudgetError, NoLocalServer, ProviderFailure, UsageError
from routecli.ledger import shared_cooldowns
from routecli.ledger.admission import AdmissionRefused
from routecli.paths import Paths
from routecli.policy.environment import Environment
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy
from routecli.providers.base import (
    ChatRequest,
    Endpoint,
    ErrorKind,
    ProviderError,
    TextDelta,
    Timeouts,
)
from routecli.providers.guard import CALL_CANCEL, CALL_TIMING, CallCancelled, Timing
from routecli.routing.decide import Decision, RoutingState, output_reserve
from routecli.routing.late_budget import downgraded_chain
from routecli.routing.options import RequestOptions
from routecli.run.attempts import (
    Attempt,
    CallSettings,
    Interrupted,
    Outcome,
    Output,
    OutputClosed,
    Waiting,
    check_reply,
    estimate_tokens,
    finish_costs,
    in_flight,
    take_event,
)
from routecli.run.capguard import CapGuard
from routecli.run.failures import (
    ACTION,
    BACKOFF,
    COOLDOWN,
    GIVE_UP,
    MAX_COOLDOWN,
    RateLimitPauses,
    wait_before_retry,
)

CONTINUE_INSTRUCTION = (
    "Your previous reply was cut off. Continue it exactly from where it stops, without repeating "
    "anything and without any preamble. The reply so far:\n\n"
)


def endpoint_for(policy: Policy, environment: Environment, alias: str) -> Endpoint:
    provider = policy.providers[policy.models[alias].provider]
    access = environment.access[provider.name]
    if access.problem:  # routing leaves such a provider out; never let its setting reach a transport
        raise UsageError(access.problem)
    return Endpoint(provider.name, provider.wire, access.base_url, access.key, provider.transport)


def timeouts_for(policy: Policy, alias: str, stream: bool = True) -> Timeouts:
    """The model's timeouts. Without streaming the headers come with the whole reply: no earlier deadline."""
    t = policy.models[alias].timeouts or policy.timeouts
    headers = t.headers if stream else t.first_token
    return Timeouts(connect=t.connect, first_token=t.first_token, idle=t.idle, headers=headers)



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
        guard: CapGuard | None = None,
        on_start: Callable[[Attempt], None] = lambda estimate: None,
        cancel: threading.Event | None = None,
        waiting: Waiting | None = None,
        state: RoutingState | None = None,
    ) -> None:
        """`on_start` gets each attempt's in-flight estimate before its request leaves (the ledger writes it
        ahead); setting `cancel` stops every call of this run as Ctrl-C would (the other chunk threads);
        `state`: the world the plan was made in, to decide again when a budget is found spent at write-ahead
        (None: the refusal stands, as for a chain that must not change, such as an escalation's)."""
        self.policy = policy
        self.environment = environment
        self.prices = prices
        self.paths = paths
        self.output = output
        self.on_attempt = on_attempt
        self.sleep = sleep
        self.pauses = pauses
        self.guard = guard or CapGuard(None)  # one per run, shared by its chunk calls
        self.on_start = on_start
        self.cancel = cancel
        self.waiting = waiting
        self.state = state

    def run(self, decision: Decision, options: RequestOptions, call: CallSettings) -> Outcome:
        outcome = Outcome(text="")
        chain = list(decision.chain)
        prompt_tokens = call.prompt_tokens if call.prompt_tokens is not None else decision.tokens.value
        partial = ""  # text already shown that the next model must continue
        last_error: ProviderError | None = None
        unreachable: set[str] = set()  # the models that failed only because nothing answered the connection
        refused: set[str] = set()  # the models a budget refused as they were written ahead
        position = 0
        while position < len(chain):
            alias = chain[position]
            has_fallback = position + 1 < len(chain)
            try_number = 0
            next_model = True  # False: the chain from here was decided again, its new model goes here
            while True:
                try:
                    attempt = self._attempt(
                        alias, position, try_number, options, call, partial, prompt_tokens, outcome
                    )
                except AdmissionRefused as refusal:
                    refused.add(alias)
                    left_out = {*chain[:position], *refused}  # tried or refused: never again in this run
                    chain[position:] = self._downgraded(decision, options, refusal, alias, left_out)
                    next_model = False
                    break
                if attempt.status == "ok":
                    failed_check = check_reply(attempt, call.validate, call.user_max_tokens)
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
                wait = None if shown else wait_before_retry(error, try_number, has_fallback)
                if wait is not None:
                    attempt.status = "retry"
                    self.on_attempt(attempt)
                    self.output.notice(f"{alias}: {error.message}; retrying in {wait:g}s")
                    self.sleep(wait)
                    try_number += 1
                    continue
                self._cool_down(alias, error)
                if error.kind == ErrorKind.CONNECT and not attempt.text:
                    unreachable.add(alias)
                attempt.status = "fallback" if has_fallback else "error"
                self.on_attempt(attempt)
                partial = self._carry_over(partial, attempt, call)
                if ACTION[error.kind] == GIVE_UP:
                    raise ProviderFailure(f"{alias} rejected the request: {error.message}")
                if has_fallback:
                    shown = f" after {len(attempt.text)} characters" if attempt.text and call.stream_to_output else ""
                    how = "continuing with" if partial and call.stream_to_output else "falling back to"
                    self.output.notice(f"{alias} failed{shown} ({error.message}); {how} {chain[position + 1]}")
                break
            if next_model:
                position += 1
        outcome.text = partial
        self._no_local_server(chain, options, partial, unreachable)
        what = last_error.message if last_error else "no model to try"
        raise ProviderFailure(f"every model in the chain failed; last error: {what}")

    def _downgraded(
        self, decision: Decision, options: RequestOptions, refusal: AdmissionRefused, alias: str, left_out: set[str]
    ) -> list[str]:
        """The rest of the chain after a budget refused `alias` as it was written ahead: what the planner's downgrade
        gives with the spend the ledger showed, less the models tried or refused; else the refusal stands (exit 6)."""
        if self.state is None:
            raise refusal
        spent = (refusal.spent_today, refusal.spent_month)
        rest = downgraded_chain(decision, self.policy, self.prices, self.state, options, spent, left_out)
        if rest is None:  # on_exceed: refuse
            raise refusal
        if not rest:
            raise BudgetError(f"{refusal.message}; no cheaper model fits") from None
        self.output.notice(f"{alias} {refusal.message}; downgraded to {rest[0]} to stay within budget")
        return list(rest)

    def _no_local_server(self, chain: list[str], options: RequestOptions, partial: str, unreachable: set[str]) -> None:
        """--local with discovery off (ROUTE_DISCOVER=0) tries the policy's local servers blind: when none of
        them answered and the user named none (`<NAME>_BASE_URL`), that is no local model (exit 5), as when
        discovery finds none; a server the user named and that refuses stays a failed call (exit 7)."""
        if not options.local_only or partial or not chain or set(chain) != unreachable:
            return
        providers = list(dict.fromkeys(self.policy.models[alias].provider for alias in chain))
        if any(self.environment.access[name].base_url_override for name in providers):
            return
        names = ", ".join(providers)
        hint = self.policy.providers[providers[0]].base_url_env
        raise NoLocalServer(f"no local server answering ({names}: start one, or set {hint})")

    def _carry_over(self, partial: str, attempt: Attempt, call: CallSettings) -> str:
        """Text already printed stays printed: the next model continues it. Held-back text is dropped."""
        if call.stream_to_output and attempt.text:
            return partial + attempt.text
        return partial

    def _cool_down(self, alias: str, error: ProviderError) -> None:
        rule = COOLDOWN.get(error.kind)
        if rule is None:
            return
        scope, seconds = rule
        if error.retry_after is not None:
            seconds = max(seconds if scope == "provider" else 0.0, min(error.retry_after, MAX_COOLDOWN))
        model = self.policy.models[alias]
        key = f"provider:{model.provider}" if scope == "provider" else f"model:{alias}"
        reason = f"{error.status} {error.kind.value}" if error.status else error.kind.value
        shared_cooldowns.add(self.paths, key, seconds, reason)  # the team's, with a shared ledger

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
        if self.cancel is not None and self.cancel.is_set():  # stopped while this one waited: nothing sent
            raise Interrupted(outcome, stop=CallCancelled())
        prompt = call.prompt if not partial else call.prompt + "\n\n" + CONTINUE_INSTRUCTION + partial
        tokens_in = prompt_tokens if not partial else prompt_tokens + estimate_tokens(partial)
        max_tokens = output_reserve(model, self.policy, options)
        reserved = self.guard.reserve(alias, self.prices.get(alias), tokens_in, max_tokens)  # exit 6 before sending
        request = ChatRequest(
            model_id=model.model_id,
            prompt=prompt,
            max_tokens=max_tokens,
            system=call.system,
            stream=call.use_streaming_api,
            history=call.history,
        )
        attempt = Attempt(alias, model.provider, model.shown_id, position, try_number, time.time())
        attempt.continued_from = len(partial)
        attempt.max_tokens = request.max_tokens
        clock = time.monotonic()
        timing = Timing()
        CALL_TIMING.set(timing)  # this thread's next adapter call fills it in
        CALL_CANCEL.set(self.cancel)
        try:
            try:
                self.on_start(in_flight(attempt, self.prices, tokens_in, request.max_tokens))  # before it is sent
            except BudgetError:  # refused as it was written ahead: nothing is sent, nothing to record
                self.guard.settle(reserved, Decimal(0))
                raise
            outcome.attempts.append(attempt)
            timeouts = timeouts_for(self.policy, alias, request.stream)
            if self.waiting is not None:
                self.waiting.start(alias)
            for event in get_adapter(endpoint.wire)(endpoint, request, timeouts):
                take_event(attempt, event)
                if isinstance(event, TextDelta):
                    if attempt.first_token_s is None:
                        attempt.first_token_s = _provider_seconds(clock, timing)
                        if self.waiting is not None:
                            self.waiting.stop()  # wiped before the text lands on the same screen
                    if call.stream_to_output:
                        self.output.emit(event.text)
            attempt.status = "ok"
        except ProviderError as error:
            attempt.failed(error)
            if self.pauses is not None and error.kind == ErrorKind.RATE_LIMITED:
                self.pauses.hold(model.provider, error.retry_after or BACKOFF)
        except (KeyboardInterrupt, OutputClosed, CallCancelled) as stop:
            attempt.stopped(stop)
            _finish_timing(attempt, clock, timing)
            finish_costs(attempt, self.prices, tokens_in)
            self.guard.settle(reserved, attempt.cost_usd)
            outcome.text = partial + attempt.text
            self.on_attempt(attempt)
            raise Interrupted(outcome, closed=isinstance(stop, OutputClosed), stop=stop) from None
        finally:
            if self.waiting is not None:
                self.waiting.stop()
        _finish_timing(attempt, clock, timing)
        finish_costs(attempt, self.prices, tokens_in)
        self.guard.settle(reserved, attempt.cost_usd)
        return attempt


def _provider_seconds(clock: float, timing: Timing) -> float:
    """Seconds since the request went out (since the attempt began if it never did)."""
    return round(time.monotonic() - (timing.sent or clock), 4)


def _finish_timing(attempt: Attempt, clock: float, timing: Timing) -> None:
    attempt.total_s = _provider_seconds(clock, timing)
    if timing.sent is not None and timing.first_byte is not None:
        attempt.first_byte_s = round(timing.first_byte - timing.sent, 4)
    attempt.overhead_s = round((timing.sent or clock) - clock + timing.local_s, 4)
