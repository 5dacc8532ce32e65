"""The one interface every provider adapter speaks.

`execute` drives an adapter through `open_stream(endpoint, request, timeouts)` and never looks behind it:
an adapter yields `TextDelta`s, at most one `UsageReport` and one `StreamEnd`, or raises `ProviderError`
with one of a few kinds. One call is one attempt: adapters never retry (the SDKs' own retries are off).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import re
import time
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any, Protocol

from routecli.turns import Turn
from routecli.values import frozen

NO_KEY = "not-needed"  # sent where a local server wants no key: SDKs would otherwise read keys from the env


@frozen
class Endpoint:
    """Where and how to reach one provider (already resolved from policy + environment)."""

    provider: str  # the provider's name in the policy, e.g. "moonshot"
    wire: str  # "anthropic" | "openai" | "mistral"
    base_url: str  # in the form that wire's SDK takes it
    api_key: str | None  # None for local servers that need no key
    transport: str = "raw"  # "raw": route reads the reply itself; "sdk": the wire's SDK does (see providers)


@frozen
class ChatRequest:
    model_id: str  # the provider's model id
    prompt: str  # the user message
    max_tokens: int
    system: str | None = None
    stream: bool = True
    history: tuple[Turn, ...] = ()  # a conversation's earlier turns, oldest first, sent before the prompt

    def messages(self) -> list[dict[str, Any]]:
        """The earlier turns, in order, then the prompt: the `messages` list every wire sends."""
        earlier = [{"role": turn.role.value, "content": turn.text} for turn in self.history]
        return [*earlier, {"role": "user", "content": self.prompt}]


@frozen
class Timeouts:
    connect: float = 10.0  # seconds to open the connection
    first_token: float = 60.0  # seconds from sending the request to the first text delta
    idle: float = 30.0  # seconds allowed between two chunks once the stream runs
    headers: float = 10.0  # seconds from sending the request to the response headers (capped by first_token)


@frozen
class TextDelta:
    text: str


@frozen
class UsageReport:
    """Token usage as the provider reported it (None = the provider did not say), normalised by the adapter:
    input_tokens counts every prompt token, cached and cache-written ones included."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    model_id: str | None = None  # the model id the provider says it used
    # Anthropic bills cache writes apart (its input_tokens excludes both cache reads and writes, while
    # OpenAI's prompt_tokens includes cached tokens); None where the provider has no such field.
    cache_write_tokens: int | None = None


@frozen
class StreamEnd:
    stop_reason: str  # normalised: "end" | "max_tokens" | "content_filter" | "other"
    raw_stop_reason: str | None = None


Event = TextDelta | UsageReport | StreamEnd


class ErrorKind(str, Enum):  # noqa: UP042 - a StrEnum would change how str() and format() render it
    RATE_LIMITED = "rate_limited"  # 429
    OVERLOADED = "overloaded"  # 529 / overloaded_error
    SERVER = "server_error"  # other 5xx
    TIMEOUT = "timeout"  # connect, first-token or idle timeout
    NO_RESPONSE = "no_response"  # connected and sent, but no response headers within the headers timeout
    CONNECT = "connect_error"  # refused, DNS, reset before a response
    AUTH = "auth_error"  # 401 / 403 (and Gemini's 400 for a bad key)
    NOT_FOUND = "model_not_found"  # 404
    CONTEXT_OVERFLOW = "context_overflow"  # the prompt is too long for this model
    BAD_REQUEST = "bad_request"  # 400 / 422 that no retry will fix
    STREAM_BROKEN = "stream_broken"  # connection dropped mid-stream, in-stream error event, malformed data


class ProviderError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Adapter(Protocol):
    def __call__(self, endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]: ...


# --- What a provider's failure means -------------------------------------------------------------------
# The one table that turns an HTTP status (plus the provider's own error type or message) into an ErrorKind.
# Adapters pull status, body and headers out of their SDK's exception and ask here; nothing else in the
# package interprets statuses. Stdlib only, so importing this module stays cheap.

_CONTEXT_MARKERS = (
    "prompt is too long",  # Anthropic: "prompt is too long: 250000 tokens > 200000 maximum"
    "exceed context limit",  # Anthropic: "input length and `max_tokens` exceed context limit"
    "maximum context length",  # OpenAI and Mistral
    "context_length_exceeded",  # OpenAI's error code
    "context window",
    "exceeded model token limit",  # Moonshot
    "input token count",  # Gemini: "The input token count (N) exceeds the maximum number of tokens"
    "too large for model",  # Mistral: "Prompt contains N tokens ..., too large for model with ..."
)
_AUTH_MARKERS = ("api_key_invalid", "api key not valid")  # Gemini answers a bad key with 400
# An account that cannot pay is unusable until its owner acts, like a bad key: no retry, no cooldown helps.
_BILLING_MARKERS = ("insufficient_quota", "credit balance is too low")  # OpenAI's 429, Anthropic's 400
_NOT_FOUND_MARKERS = ("model_not_found", "not_found_error", "invalid_model")  # Mistral: 400 invalid_model
_MAX_MESSAGE = 300


def classify_status(status: int, text: str) -> ErrorKind:
    """The kind of an HTTP error answer; `text` is the raw body, searched for the provider's error type."""
    low = text.lower()
    if status == 402 or any(marker in low for marker in _BILLING_MARKERS):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status == 529 or "overloaded_error" in low or (status == 503 and "overloaded" in low):
        return ErrorKind.OVERLOADED  # Anthropic 529; Gemini says "The model is overloaded" with 503
    if status >= 500:
        return ErrorKind.SERVER
    if status in (401, 403) or any(marker in low for marker in _AUTH_MARKERS):
        return ErrorKind.AUTH
    if status == 404 or any(marker in low for marker in _NOT_FOUND_MARKERS):
        return ErrorKind.NOT_FOUND
    if status == 413 or any(marker in low for marker in _CONTEXT_MARKERS):
        return ErrorKind.CONTEXT_OVERFLOW
    if status == 408:
        return ErrorKind.TIMEOUT
    return ErrorKind.BAD_REQUEST


def http_error(status: int, body: object, headers: Mapping[str, str] | None) -> ProviderError:
    """A ProviderError for an HTTP error answer, with Retry-After parsed whatever the status."""
    text = body_text(body)
    return ProviderError(
        classify_status(status, text),
        f"HTTP {status}: {describe_body(body)}",
        status=status,
        retry_after=parse_retry_after(headers, text),
    )


def stream_error(body: object) -> ProviderError:
    """An error event inside a 200 stream. Overloaded stays OVERLOADED (execute may cool the provider down);
    anything else means the stream broke."""
    overloaded = "overloaded_error" in body_text(body).lower()
    kind = ErrorKind.OVERLOADED if overloaded else ErrorKind.STREAM_BROKEN
    return ProviderError(kind, f"error event in stream: {describe_body(body)}")


def parse_retry_after(
    headers: Mapping[str, str] | None, body: str = "", now: float | None = None
) -> float | None:
    """Seconds to wait, from retry-after-ms, Retry-After (seconds or HTTP date) or Gemini's RetryInfo."""
    lower = {key.lower(): value for key, value in (headers or {}).items()}
    millis = _number(lower.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = lower.get("retry-after")
    if value is not None:
        seconds = _number(value)
        return seconds if seconds is not None else _seconds_until(value, now)
    delay = re.search(r'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"', body)
    return float(delay.group(1)) if delay else None


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def _seconds_until(http_date: str, now: float | None) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # an HTTP date is GMT even when it does not say so
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def body_text(body: object) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    try:
        return json.dumps(body, default=str)
    except (TypeError, ValueError):
        return str(body)


def describe_body(body: object) -> str:
    """The provider's own words, as one short line: "type: message" from any of the known error shapes."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return one_line(body_text(body)) or "(empty body)"
    if isinstance(body, list) and body:  # Gemini wraps its error in a list
        body = body[0]
    if not isinstance(body, dict):
        return one_line(body_text(body))
    error = body.get("error", body)  # OpenAI, Anthropic and Gemini wrap; Mistral does not
    if not isinstance(error, dict):
        return one_line(str(error))
    message = error.get("message", error.get("detail", ""))
    if not isinstance(message, str):  # Mistral's 422 carries validation details where the message goes
        message = _validation_details(message)
    kind = error.get("type") or error.get("status") or error.get("code")
    return one_line(f"{kind}: {message}" if kind else str(message))


def _validation_details(details: object) -> str:
    if isinstance(details, dict):
        details = details.get("detail", details)
    if not isinstance(details, list):
        return body_text(details)
    parts = []
    for item in details:
        if isinstance(item, dict):
            location = ".".join(str(part) for part in item.get("loc", []))
            parts.append(f"{location}: {item.get('msg', '')}")
    return "; ".join(parts)


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def redact(error: ProviderError, secret: str | None) -> ProviderError:
    """Some providers echo the key they were given ("Incorrect API key provided: ..."); never repeat it."""
    if secret and secret in error.message:
        error.message = error.message.replace(secret, "***")
        error.args = (error.message,)
    return error
