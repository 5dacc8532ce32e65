"""The OpenAI Chat Completions wire without the SDK, for OpenAI and the compatible servers.

Mirrors what `openai` does with each event (its Stream.__stream__) and what `openai_wire` makes of it: data
starting with `[DONE]` ends the stream; every other event, whatever its `event:` name, is JSON; one with a
truthy `error` is an in-stream error. Usage is wherever the provider put it: a last chunk with empty
`choices` (OpenAI, Ollama, OpenRouter, Groq, LM Studio, llama-server with include_usage), on the chunk that
carries finish_reason (Gemini), or inside `choices[0]` (Moonshot). Comments (OpenRouter's keep-alives) never
reach here: the SSE decoder drops them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from routecli.providers import openai_wire, raw
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
    stream_error,
)
from routecli.providers.sse import SseEvent

_STOP_REASONS = openai_wire.STOP_REASONS  # one table per wire, the SDK path's
_STREAM_ERROR = "An error occurred during streaming"  # the SDK's words when the error has no message


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = openai_wire._body(endpoint, request)
    wire = openai_wire.wire_request(endpoint, body)
    yield from raw.run(
        endpoint, timeouts, wire, reader=StreamReader if request.stream else None, read_body=read_completion
    )


class StreamReader:
    flush_at_eof = False  # openai's decoder drops an event that never got its blank line

    def __init__(self) -> None:
        self.done = False
        self.model_id: str | None = None
        self.usage: Any = None
        self.finish_reason: str | None = None

    def read(self, event: SseEvent) -> TextDelta | None:
        if event.data.startswith("[DONE]"):
            self.done = True
            return None
        chunk = json.loads(event.data)
        if isinstance(chunk, dict) and chunk.get("error"):
            raise _in_stream_error(chunk["error"])
        self.model_id = self.model_id or _get(chunk, "model") or None
        usage = _get(chunk, "usage")
        self.usage = usage if usage is not None else self.usage  # OpenAI's usage chunk (choices == [])
        choices = _get(chunk, "choices")
        if not choices or not isinstance(choices, list):
            return None
        choice = choices[0]
        self.finish_reason = _get(choice, "finish_reason") or self.finish_reason
        self.usage = _get(choice, "usage") or self.usage  # Moonshot's placement
        text = _get(_get(choice, "delta"), "content")
        return TextDelta(text) if text else None

    def finish(self) -> list[Event]:
        if self.finish_reason is None:  # the body ended cleanly but the completion never did
            raise ProviderError(ErrorKind.STREAM_BROKEN, "stream ended without a finish_reason")
        return [_usage_report(self.usage, self.model_id), _stream_end(self.finish_reason)]


def read_completion(completion: Any) -> list[Event]:
    """A whole (non-streaming) chat completion."""
    choices = _get(completion, "choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    text = (_get(_get(choice, "message"), "content") or "") if choice is not None else ""
    usage = _get(completion, "usage") or _get(choice, "usage")
    return [
        TextDelta(text),
        _usage_report(usage, _get(completion, "model") or None),
        _stream_end(_get(choice, "finish_reason")),
    ]


def _in_stream_error(error: Any) -> ProviderError:
    if isinstance(error, dict):
        return stream_error({"error": error})
    return stream_error(_STREAM_ERROR)


def _usage_report(usage: Any, model_id: str | None) -> UsageReport:
    cached = _get(_get(usage, "prompt_tokens_details"), "cached_tokens")
    return UsageReport(
        input_tokens=_get(usage, "prompt_tokens"),
        output_tokens=_get(usage, "completion_tokens"),
        cached_input_tokens=cached if cached is not None else _get(usage, "cached_tokens"),  # Moonshot
        reasoning_tokens=_get(_get(usage, "completion_tokens_details"), "reasoning_tokens"),
        model_id=model_id,
    )


def _stream_end(finish_reason: str | None) -> StreamEnd:
    return StreamEnd(_STOP_REASONS.get(finish_reason or "", "other"), finish_reason)


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None
