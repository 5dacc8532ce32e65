"""Mistral's chat wire: our own request (see `preflight`), then the `mistralai` SDK (`mistralai.client.Mistral`,
on httpx2) parses the reply.

Mistral rejects OpenAI-only fields (`stream_options`, `max_completion_tokens`, `user`) with 422, and needs
none: usage rides on the last content chunk, next to its finish_reason. The SDK retries only when given a
RetryConfig, passes network errors through raw, and reports a data line it cannot parse (bad JSON or an
in-stream `{"error": ...}`) as a ResponseValidationError carrying the stream's 200.
"""

from __future__ import annotations

import json
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
    one_line,
    stream_error,
)
from routecli.providers.guard import Emit
from routecli.providers.http import transport_error

if TYPE_CHECKING:
    import httpx2

STOP_REASONS = {"stop": "end", "length": "max_tokens", "model_length": "max_tokens"}


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = _body(request)

    def call(sdk: Any, http: httpx2.Client, emit: Emit) -> None:
        # A client we pass in is ours to close (preflight closes it). The idle async client spares the SDK
        # building its own, and an SSL context with it (~20 ms); nothing here is async.
        client = sdk.Mistral(
            api_key=endpoint.api_key or NO_KEY, server_url=endpoint.base_url, client=http, async_client=_no_async()
        )
        # retries=None: no RetryConfig, so one call is one attempt (the SDK's own default, made explicit)
        if request.stream:
            _read_stream(client.chat.stream(**body, retries=None), emit)
        else:
            _read_completion(client.chat.complete(**body, retries=None), emit)

    def classify(sdk: Any, error: BaseException, responded: bool) -> ProviderError | None:
        return _classify(sdk.errors, error, responded)

    yield from preflight.run(
        endpoint, timeouts, wire_request(endpoint, body), load=_load, call=call, classify=classify
    )


def _load() -> Any:
    import mistralai.client  # only once the provider has answered 2xx: no failed call or other command pays
    import mistralai.client.errors

    return mistralai.client


def _no_async() -> httpx2.AsyncClient:
    import httpx2

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("route makes no async calls")

    return httpx2.AsyncClient(transport=httpx2.MockTransport(refuse), trust_env=False)


def _body(request: ChatRequest) -> dict[str, Any]:
    """The JSON body, which is also the keyword arguments of the SDK's `chat.stream` / `chat.complete`."""
    messages = request.messages()
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    return {"model": request.model_id, "messages": messages, "max_tokens": request.max_tokens, "stream": request.stream}


def wire_request(endpoint: Endpoint, body: dict[str, Any]) -> preflight.WireRequest:
    accept = "text/event-stream" if body["stream"] else "application/json"  # as the SDK asks
    headers = {"authorization": f"Bearer {endpoint.api_key or NO_KEY}", "accept": accept}
    return preflight.WireRequest(preflight.join_url(endpoint.base_url, "/v1/chat/completions"), headers, body)


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
        for event in stream:
            chunk = event.data
            tally.model_id = tally.model_id or chunk.model or None
            tally.usage = chunk.usage or tally.usage
            text = None
            if chunk.choices:
                choice = chunk.choices[0]
                tally.finish_reason = choice.finish_reason or tally.finish_reason
                text = _text(choice.delta.content)
            emit(TextDelta(text) if text else None)
    if tally.finish_reason is None:  # the body ended cleanly but the completion never did
        raise ProviderError(ErrorKind.STREAM_BROKEN, "stream ended without a finish_reason")
    for event in tally.events():
        emit(event)


def _read_completion(response: Any, emit: Emit) -> None:
    choice = response.choices[0] if response.choices else None
    message = choice.message if choice is not None else None
    emit(TextDelta(_text(message.content) if message is not None else ""))
    emit(_usage_report(response.usage, response.model or None))
    emit(_stream_end(choice.finish_reason if choice is not None else None))


def _text(content: Any) -> str:
    """A string, or (from reasoning models) a list of chunks of which only the text ones are the reply."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(getattr(part, "text", "") for part in content if getattr(part, "type", "") == "text")
    return ""


def _usage_report(usage: Any, model_id: str | None) -> UsageReport:
    if usage is None:
        return UsageReport(model_id=model_id)
    given = usage.model_fields_set  # the SDK defaults missing counts to 0; we want None
    extra = usage.additional_properties or {}
    details = extra.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return UsageReport(
        input_tokens=usage.prompt_tokens if "prompt_tokens" in given else None,
        output_tokens=usage.completion_tokens if "completion_tokens" in given else None,
        cached_input_tokens=cached if cached is not None else extra.get("num_cached_tokens"),
        model_id=model_id,
    )


def _stream_end(finish_reason: Any) -> StreamEnd:
    raw = str(finish_reason) if finish_reason is not None else None
    return StreamEnd(STOP_REASONS.get(raw or "", "other"), raw)


def _classify(errors: Any, error: BaseException, responded: bool) -> ProviderError | None:
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, errors.ResponseValidationError) and error.status_code < 400:
        return _bad_stream_data(error.body)
    if isinstance(error, errors.MistralError):  # SDKError, HTTPValidationError (422) and the like
        return http_error(error.status_code, error.body, error.headers)
    if isinstance(error, errors.NoResponseError):
        return ProviderError(ErrorKind.CONNECT, "no response from the provider")
    return transport_error(error, responded)  # raw httpx2 errors


def _bad_stream_data(body: str) -> ProviderError:
    """A data line the SDK could not read: an in-stream error object, or not JSON at all."""
    try:
        event = json.loads(body)  # the SDK re-wraps the line as {"data": <parsed JSON, or the raw text>}
    except (TypeError, ValueError):
        event = {"data": body}
    data = event.get("data") if isinstance(event, dict) else None
    if isinstance(data, dict) and "error" in data:
        return stream_error(data)
    excerpt = data if isinstance(data, str) else body
    return ProviderError(
        ErrorKind.STREAM_BROKEN, one_line(f"malformed data from the provider: {excerpt[:80]}")
    )
