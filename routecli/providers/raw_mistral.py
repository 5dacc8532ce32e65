"""Mistral's chat wire without the SDK: the same request as `mistral_wire`, read by route itself.

Mirrors `mistralai`'s event stream (utils/eventstreaming.py) and what `mistral_wire` makes of it: events
without data are skipped; data equal to `[DONE]` ends the stream; a last event without its blank line is
still dispatched; each data is a completion chunk (id, model, choices with index, delta and finish_reason),
and anything else, an in-stream `{"error": ...}` or text that is not JSON, breaks the stream. Content is a
string, or (reasoning models) a list of chunks of which only the `text` ones are the reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from routecli.providers import mistral_wire, raw
from routecli.providers.base import (
    ChatRequest,
    Endpoint,
    ErrorKind,
    Event,
    ProviderError,
    StreamEnd,
    TextDelta,
    Timeouts,
    UsageReport,
    one_line,
    stream_error,
)
from routecli.providers.sse import SseEvent

_STOP_REASONS = mistral_wire.STOP_REASONS  # one table per wire, the SDK path's


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = mistral_wire._body(request)
    wire = mistral_wire.wire_request(endpoint, body)
    yield from raw.run(
        endpoint, timeouts, wire, reader=StreamReader if request.stream else None, read_body=read_completion
    )


class StreamReader:
    flush_at_eof = True  # mistralai parses what is left in its buffer when the body ends

    def __init__(self) -> None:
        self.done = False
        self.model_id: str | None = None
        self.usage: Any = None
        self.finish_reason: str | None = None

    def read(self, event: SseEvent) -> TextDelta | None:
        if not event.has_data:
            return None
        if event.data == "[DONE]":
            self.done = True
            return None
        chunk = _chunk(event.data)
        self.model_id = self.model_id or chunk["model"] or None
        self.usage = chunk["usage"] if chunk.get("usage") is not None else self.usage
        if not chunk["choices"]:
            return None
        choice = chunk["choices"][0]
        self.finish_reason = choice["finish_reason"] or self.finish_reason
        text = _text(choice["delta"].get("content"))
        return TextDelta(text) if text else None

    def finish(self) -> list[Event]:
        if self.finish_reason is None:  # the body ended cleanly but the completion never did
            raise ProviderError(ErrorKind.STREAM_BROKEN, "stream ended without a finish_reason")
        return [_usage_report(self.usage, self.model_id), _stream_end(self.finish_reason)]


def _chunk(data: str) -> dict[str, Any]:
    """The completion chunk in `data`, checked for the fields mistralai requires of one."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise _malformed(data) from None
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if (
        isinstance(chunk, dict)
        and isinstance(chunk.get("id"), str)
        and isinstance(chunk.get("model"), str)
        and isinstance(choices, list)
        and all(_is_choice(choice) for choice in choices)
    ):
        return chunk
    if isinstance(chunk, dict) and "error" in chunk:  # not a chunk, so the SDK looks for an error in it
        raise stream_error(chunk)
    raise _malformed(data)


def _is_choice(choice: Any) -> bool:
    return (
        isinstance(choice, dict)
        and isinstance(choice.get("index"), int)
        and isinstance(choice.get("delta"), dict)
        and "finish_reason" in choice
    )


def _malformed(data: str) -> ProviderError:
    return ProviderError(ErrorKind.STREAM_BROKEN, one_line(f"malformed data from the provider: {data[:80]}"))


def read_completion(response: Any) -> list[Event]:
    """A whole (non-streaming) chat completion."""
    choices = response.get("choices") if isinstance(response, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    message = choice.get("message") if choice is not None else None
    text = _text(message.get("content")) if isinstance(message, dict) else ""
    model = response.get("model") if isinstance(response, dict) else None
    usage = response.get("usage") if isinstance(response, dict) else None
    return [
        TextDelta(text),
        _usage_report(usage, model or None),
        _stream_end(choice.get("finish_reason") if choice is not None else None),
    ]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _usage_report(usage: Any, model_id: str | None) -> UsageReport:
    if not isinstance(usage, dict):
        return UsageReport(model_id=model_id)
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return UsageReport(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        cached_input_tokens=cached if cached is not None else usage.get("num_cached_tokens"),
        model_id=model_id,
    )


def _stream_end(finish_reason: Any) -> StreamEnd:
    raw_reason = str(finish_reason) if finish_reason is not None else None
    return StreamEnd(_STOP_REASONS.get(raw_reason or "", "other"), raw_reason)
