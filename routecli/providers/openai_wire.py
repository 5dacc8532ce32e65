"""The OpenAI Chat Completions wire, for OpenAI and every compatible server (Moonshot, Gemini's compatibility
endpoint, Ollama, LM Studio, Groq, OpenRouter, Together): our own request (see `preflight`), then the `openai`
SDK parses the reply.

Usage lives in different places: OpenAI (and Ollama) send a last chunk with empty `choices` when asked with
`stream_options.include_usage`; Moonshot puts `usage` inside `choices[0]` of its final chunk, which the SDK
keeps as an untyped extra (a dict). The SDK wraps network errors raised mid-stream (APIConnectionError) and
turns a `data: {"error": ...}` line into a bare APIError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
    one_line,
    stream_error,
)
from routecli.providers.guard import Emit
from routecli.providers.http import transport_error

if TYPE_CHECKING:
    import httpx2

STOP_REASONS = {"stop": "end", "length": "max_tokens", "content_filter": "content_filter"}


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = _body(endpoint, request)

    def call(sdk: Any, http: httpx2.Client, emit: Emit) -> None:
        client = sdk.OpenAI(
            api_key=endpoint.api_key or NO_KEY,  # the SDK refuses to start without some key
            base_url=endpoint.base_url,
            max_retries=0,  # one call is one attempt; execute decides about retries
            http_client=http,
        )
        try:
            if request.stream:
                _read_stream(client.chat.completions.create(**body), emit)
            else:
                _read_completion(client.chat.completions.create(**body), emit)
        finally:
            client.close()

    yield from preflight.run(
        endpoint, timeouts, wire_request(endpoint, body), load=_load, call=call, classify=_classify
    )


def _load() -> Any:
    import openai  # only once the provider has answered 2xx: no failed call or other command pays for it

    return openai


def _body(endpoint: Endpoint, request: ChatRequest) -> dict[str, Any]:
    """The JSON body, which is also the keyword arguments of the SDK's `chat.completions.create`."""
    messages = request.messages()
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    body: dict[str, Any] = {"model": request.model_id, "messages": messages}
    # OpenAI's reasoning models reject max_tokens; most compatible servers know only max_tokens.
    body["max_completion_tokens" if _is_openai(endpoint) else "max_tokens"] = request.max_tokens
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def wire_request(endpoint: Endpoint, body: dict[str, Any]) -> preflight.WireRequest:
    headers = {"authorization": f"Bearer {endpoint.api_key or NO_KEY}", "accept": "application/json"}
    return preflight.WireRequest(preflight.join_url(endpoint.base_url, "/chat/completions"), headers, body)


def _is_openai(endpoint: Endpoint) -> bool:
    host = urlsplit(endpoint.base_url).hostname or ""
    return endpoint.provider == "openai" or host == "api.openai.com" or host.endswith(".openai.azure.com")


@dataclass
class _Tally:
    model_id: str | None = None
    usage: Any = None
    finish_reason: str | None = None

    def events(self) -> list[Event]:
        return [_usage_report(self.usage, self.model_id), _stream_end(self.finish_reason)]


def _read_stream(stream: Any, emit: Emit) -> None:
    tally = _Tally()
    with stream:
        for chunk in stream:
            tally.model_id = tally.model_id or chunk.model or None
            tally.usage = chunk.usage or tally.usage  # OpenAI's usage chunk (choices == [])
            text = _read_choice(chunk.choices[0], tally) if chunk.choices else None
            emit(TextDelta(text) if text else None)
    if tally.finish_reason is None:  # the body ended cleanly but the completion never did
        raise ProviderError(ErrorKind.STREAM_BROKEN, "stream ended without a finish_reason")
    for event in tally.events():
        emit(event)


def _read_choice(choice: Any, tally: _Tally) -> str | None:
    tally.finish_reason = choice.finish_reason or tally.finish_reason
    tally.usage = _field(choice, "usage") or tally.usage  # Moonshot's placement
    return choice.delta.content if choice.delta is not None else None


def _read_completion(completion: Any, emit: Emit) -> None:
    choice = completion.choices[0] if completion.choices else None
    text = (choice.message.content or "") if choice is not None else ""
    usage = completion.usage or (_field(choice, "usage") if choice is not None else None)
    emit(TextDelta(text))
    emit(_usage_report(usage, completion.model or None))
    emit(_stream_end(choice.finish_reason if choice is not None else None))


def _usage_report(usage: Any, model_id: str | None) -> UsageReport:
    prompt_details = _field(usage, "prompt_tokens_details")
    completion_details = _field(usage, "completion_tokens_details")
    cached = _field(prompt_details, "cached_tokens")
    return UsageReport(
        input_tokens=_field(usage, "prompt_tokens"),
        output_tokens=_field(usage, "completion_tokens"),
        cached_input_tokens=cached if cached is not None else _field(usage, "cached_tokens"),  # Moonshot
        reasoning_tokens=_field(completion_details, "reasoning_tokens"),
        model_id=model_id,
    )


def _stream_end(finish_reason: str | None) -> StreamEnd:
    return StreamEnd(STOP_REASONS.get(finish_reason or "", "other"), finish_reason)


def _field(value: Any, name: str) -> Any:
    """A field of an SDK model or of the plain dict the SDK keeps for fields it does not know."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def _classify(sdk: Any, error: BaseException, responded: bool) -> ProviderError | None:
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, sdk.APIStatusError):
        return http_error(error.status_code, error.body, error.response.headers)
    if isinstance(error, sdk.APIConnectionError):  # before the response, or wrapping a mid-stream failure
        return transport_error(error.__cause__ or error, responded) or ProviderError(
            ErrorKind.TIMEOUT if isinstance(error, sdk.APITimeoutError) else ErrorKind.CONNECT, error.message
        )
    if isinstance(error, sdk.APIError):  # a `data: {"error": ...}` line inside the stream
        return stream_error({"error": error.body} if isinstance(error.body, dict) else error.message)
    if isinstance(error, sdk.OpenAIError):
        kind = ErrorKind.STREAM_BROKEN if responded else ErrorKind.BAD_REQUEST
        return ProviderError(kind, one_line(f"{type(error).__name__}: {error}"))
    return transport_error(error, responded)  # bad JSON in a data line
