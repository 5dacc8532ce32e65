"""The Anthropic Messages wire: our own request (see `preflight`), then the `anthropic` SDK parses the reply.

Usage arrives in two halves: input (and cache) tokens in `message_start`, output tokens in `message_delta`.
The SDK turns an in-stream `event: error` into an APIStatusError carrying the 200 of the stream, and passes
network errors raised while the stream is read through unwrapped (raw httpx2 errors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routecli.providers import preflight
from routecli.providers.base import (
    NO_KEY,
    ChatRequest,
    Endpoint,
    ErrorKind,
    Event,
    ProviderError,
    StreamEnd,
    TextDelta,
    Timeouts,
    UsageReport,
    http_error,
    stream_error,
)
from routecli.providers.guard import Emit
from routecli.providers.http import transport_error

if TYPE_CHECKING:
    import httpx2

_STOP_REASONS = {
    "end_turn": "end",
    "stop_sequence": "end",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "refusal": "content_filter",
}


# The API version we speak: the one anthropic 2.12 sends (anthropic._constants.ANTHROPIC_API_VERSION), whose
# replies its parser expects. tests/test_preflight.py fails when the installed SDK sends another.
API_VERSION = "2026-10-21"


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = _body(request)

    def call(sdk: Any, http: httpx2.Client, emit: Emit) -> None:
        client = sdk.Anthropic(
            api_key=endpoint.api_key or NO_KEY,
            base_url=endpoint.base_url,
            max_retries=0,  # one call is one attempt; execute decides about retries
            http_client=http,
        )
        try:
            if request.stream:
                _read_stream(client.messages.create(**body), emit)
            else:
                _read_message(client.messages.create(**body), emit)
        finally:
            client.close()

    yield from preflight.run(
        endpoint, timeouts, wire_request(endpoint, body), load=_load, call=call, classify=_classify
    )


def _load() -> Any:
    import anthropic  # only once the provider has answered 2xx: it costs ~1 s

    return anthropic


def _body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body, which is also the keyword arguments of the SDK's `messages.create`."""
    body: dict[str, Any] = {
        "model": request.model_id,
        "max_tokens": request.max_tokens,
        "messages": request.messages(),
    }
    if request.system:
        body["system"] = request.system
    if request.stream:
        body["stream"] = True
    return body


def wire_request(endpoint: Endpoint, body: dict[str, Any]) -> preflight.WireRequest:
    headers = {
        "authorization": f"Bearer {endpoint.api_key or NO_KEY}",  # as the SDK sends api_key (not x-api-key)
        "anthropic-version": API_VERSION,
        "accept": "application/json",
    }
    return preflight.WireRequest(preflight.join_url(endpoint.base_url, "/v1/messages"), headers, body)


def field(value: Any, name: str) -> Any:
    """A field of an SDK object or of decoded JSON alike (the raw path reads dicts)."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


@dataclass
class Tally:
    """What the stream has told us so far about usage and the end (the SDK path's and the raw path's)."""

    model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None
    stop_reason: str | None = None
    stopped: bool = False

    def add_usage(self, usage: Any) -> None:
        """message_start and message_delta both carry usage; the later, non-null value wins."""
        self.input_tokens = _first(field(usage, "input_tokens"), self.input_tokens)
        self.output_tokens = _first(field(usage, "output_tokens"), self.output_tokens)
        self.cached = _first(field(usage, "cache_read_input_tokens"), self.cached)
        self.cache_write = _first(field(usage, "cache_creation_input_tokens"), self.cache_write)
        self.reasoning = _first(field(field(usage, "output_tokens_details"), "thinking_tokens"), self.reasoning)

    def events(self) -> list[Event]:
        end = StreamEnd(_STOP_REASONS.get(self.stop_reason or "", "other"), self.stop_reason)
        return [usage_report(self), end]


def usage_report(tally: Tally) -> UsageReport:
    """Usage as every adapter reports it: input_tokens counts every prompt token. Anthropic's own input_tokens
    leave out cache reads and writes (OpenAI's prompt_tokens include cached ones), so the three are added."""
    total_input = None
    if tally.input_tokens is not None:
        total_input = tally.input_tokens + (tally.cached or 0) + (tally.cache_write or 0)
    return UsageReport(
        input_tokens=total_input,
        output_tokens=tally.output_tokens,
        cached_input_tokens=tally.cached,
        reasoning_tokens=tally.reasoning,
        model_id=tally.model_id,
        cache_write_tokens=tally.cache_write,
    )


def _first(new: int | None, old: int | None) -> int | None:
    return new if new is not None else old


def _read_stream(stream: Any, emit: Emit) -> None:
    tally = Tally()
    with stream:
        for event in stream:
            kind = event.type
            if kind == "content_block_delta" and event.delta.type == "text_delta":
                emit(TextDelta(event.delta.text))
                continue
            if kind == "message_start":
                tally.model_id = event.message.model
                tally.add_usage(event.message.usage)
            elif kind == "message_delta":
                tally.stop_reason = event.delta.stop_reason
                tally.add_usage(event.usage)
            elif kind == "message_stop":
                tally.stopped = True
            emit(None)  # a chunk without text still shows the stream is alive
    if not tally.stopped:  # the body ended cleanly but the message never did
        raise ProviderError(ErrorKind.STREAM_BROKEN, "stream ended before message_stop")
    for event in tally.events():
        emit(event)


def _read_message(message: Any, emit: Emit) -> None:
    text = "".join(block.text for block in message.content if block.type == "text")
    tally = Tally(model_id=message.model, stop_reason=message.stop_reason)
    tally.add_usage(message.usage)
    emit(TextDelta(text))
    for event in tally.events():
        emit(event)


def _classify(sdk: Any, error: BaseException, responded: bool) -> ProviderError | None:
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, sdk.APIStatusError):
        if error.status_code < 400:  # an `event: error` inside a 200 stream
            return stream_error(error.body)
        return http_error(error.status_code, error.body, error.response.headers)
    if isinstance(error, sdk.APIConnectionError):  # raised before any response; the cause says what
        return transport_error(error.__cause__ or error, responded) or ProviderError(
            ErrorKind.TIMEOUT if isinstance(error, sdk.APITimeoutError) else ErrorKind.CONNECT, error.message
        )
    if isinstance(error, sdk.CredentialsError):
        return ProviderError(ErrorKind.AUTH, str(error))
    if isinstance(error, sdk.AnthropicError):
        kind = ErrorKind.STREAM_BROKEN if responded else ErrorKind.BAD_REQUEST
        return ProviderError(kind, f"{type(error).__name__}: {error}")
    return transport_error(error, responded)  # raw httpx2 errors and bad JSON while streaming
