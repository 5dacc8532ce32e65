"""One attempt and the outcome of a request: what was sent, what came back, what it cost, and whether the
reply passes its checks. `executor.py` fills them in; the ledger records them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol

from routecli.errors import Stopped
from routecli.policy.keyshapes import mask_keys, shown_model_id
from routecli.policy.prices import PriceTable
from routecli.providers.base import Event, ProviderError, StreamEnd, TextDelta, UsageReport
from routecli.routing.tokens import bounds
from routecli.turns import Turn
from routecli.values import frozen


@dataclass
class Attempt:
    """One call to one model. Complete even when interrupted, so the ledger can record it."""

    alias: str
    provider: str
    model_id: str  # as shown and recorded (Model.shown_id): a key pasted as an id is masked; the wire gets it whole
    position: int  # index of the model in the decision's chain
    try_number: int  # 0 for the first try of this model, 1.. for retries
    started_at: float
    status: str = "running"  # ok | error | fallback | interrupted | validation_failed | retry (| in_flight ahead)
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
    max_tokens: int | None = None  # the output limit sent with the request
    # Provider time, from the request going out: to the response headers, the first text, the end. route's
    # own time (before sending, and loading an SDK on the sdk transport) is overhead_s; that loading runs
    # while the provider works, so there the provider's times are upper bounds (exact on raw: no loading).
    first_token_s: float | None = None
    total_s: float | None = None
    first_byte_s: float | None = None
    overhead_s: float | None = None
    continued_from: int = 0  # characters of an earlier partial answer this attempt continued
    failure: ProviderError | None = field(default=None, repr=False)
    attempt_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # its ledger row is written ahead by it
    # The reply as it arrived, joined only when read: `text += delta` on an attribute copies the whole reply
    # at every delta (CPython grows a string in place only for a local), quadratic in a long stream.
    _pieces: list[str] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def text(self) -> str:
        if len(self._pieces) > 1:
            self._pieces[:] = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

    @text.setter
    def text(self, value: str) -> None:
        self._pieces[:] = [value] if value else []

    def add_text(self, piece: str) -> None:
        self._pieces.append(piece)

    def failed(self, error: ProviderError) -> None:
        """The provider refused or broke off: what it said, kept for the ledger and the failure table."""
        self.status = "error"
        self.error_kind = error.kind.value
        self.error = mask_keys(error.message)  # a provider repeats the id it was sent (a key pasted as an id)
        self.http_status = error.status
        self.failure = error

    def stopped(self, stop: BaseException) -> None:
        """Ctrl-C, SIGTERM / SIGHUP, a cancelled chunk call, or an output that cannot be written."""
        self.status = "interrupted"
        if isinstance(stop, Stopped):
            self.error = f"stopped by {stop.signal_name}"
        elif isinstance(stop, OutputClosed):
            self.error = "output closed"
        else:  # Ctrl-C here, or in the main thread for a chunk call (CallCancelled)
            self.error = "interrupted by the user"

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
            "max_tokens": self.max_tokens,
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


class Waiting(Protocol):
    """A live "waiting for MODEL" line (ui/waiting.py): started with each attempt, stopped at its first text."""

    def start(self, alias: str) -> None: ...

    def stop(self) -> None: ...


class OutputClosed(Exception):
    """Raised by an Output whose reader went away (`route ask ... | head -1`), or that cannot be written at all
    (a full disk, a closed descriptor): `reason` says which for the latter, None for a reader gone."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "output closed")
        self.reason = reason


class Interrupted(Exception):
    """Ctrl-C, SIGTERM, SIGHUP (`stop`) or a closed stdout during a call; carries the outcome so far, the
    attempt marked interrupted."""

    def __init__(self, outcome: Outcome, closed: bool = False, stop: BaseException | None = None) -> None:
        super().__init__("interrupted")
        self.outcome = outcome
        self.closed = closed
        self.stop = stop


@frozen
class CallSettings:
    system: str | None
    prompt: str
    stream_to_output: bool  # False: hold text back until a reply passes its checks
    use_streaming_api: bool  # False for --no-stream
    validate: bool
    prompt_tokens: int | None = None  # the prompt's tokens when not the decision's (a chunk, a combining call)
    history: tuple[Turn, ...] = ()  # a continued conversation's earlier turns, sent before the prompt
    user_max_tokens: int | None = None  # --max-tokens: a reply stopped there is complete, not cut off


def estimate_tokens(text: str) -> int:
    return bounds(text.encode("utf-8")).value if text else 0


def finish_costs(attempt: Attempt, prices: PriceTable, prompt_tokens: int) -> None:
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
        attempt.output_tokens = estimate_tokens(attempt.text)
        attempt.usage_estimated = True
    price = prices.get(attempt.alias)
    if price is not None:
        attempt.cost_usd = price.cost(
            attempt.input_tokens, attempt.output_tokens,
            attempt.cached_input_tokens or 0, attempt.cache_write_tokens or 0,
        )


def in_flight(attempt: Attempt, prices: PriceTable, prompt_tokens: int, reserve: int) -> Attempt:
    """The row written before the request leaves: the worst case (the prompt, the whole output reserve), so a
    budget check counts the call while it runs and a killed process leaves it in the ledger at that cost."""
    from routecli.ledger.writeahead import IN_FLIGHT

    price = prices.get(attempt.alias)
    cost = None if price is None else price.cost(prompt_tokens, reserve)
    return replace(
        attempt, status=IN_FLIGHT, input_tokens=prompt_tokens, output_tokens=reserve, usage_estimated=True,
        cost_usd=cost,
    )


def take_event(attempt: Attempt, event: Event) -> None:
    """What one stream event adds to an attempt: text, usage, or why the reply stopped."""
    if isinstance(event, TextDelta):
        attempt.add_text(event.text)
    elif isinstance(event, UsageReport):
        apply_usage(attempt, event)
    elif isinstance(event, StreamEnd):
        attempt.stop_reason = event.stop_reason


def apply_usage(attempt: Attempt, usage: UsageReport) -> None:
    """Record usage as the adapter reported it (already normalised: input_tokens is every prompt token)."""
    attempt.input_tokens = usage.input_tokens
    attempt.output_tokens = usage.output_tokens
    attempt.cached_input_tokens = usage.cached_input_tokens
    attempt.cache_write_tokens = usage.cache_write_tokens
    attempt.reasoning_tokens = usage.reasoning_tokens
    attempt.reported_model_id = None if usage.model_id is None else shown_model_id(usage.model_id)  # the id it was sent


def check_reply(attempt: Attempt, validate: bool, user_max_tokens: int | None = None) -> str | None:
    """Why this reply is not acceptable, or None. Every reply must be non-empty and complete. A reply that
    stopped at the user's own --max-tokens is what was asked for; one cut at a limit route chose escalates."""
    if not attempt.text.strip():
        return "empty reply"
    users_limit = user_max_tokens is not None and attempt.max_tokens == user_max_tokens
    if attempt.stop_reason == "max_tokens" and not users_limit:
        return "reply cut off by the token limit"
    if validate and attempt.stop_reason not in ("end", None):
        return f"reply ended abnormally ({attempt.stop_reason})"
    return None


