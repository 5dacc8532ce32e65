"""The Anthropic Messages wire without the SDK: the same request as `anthropic_wire`, read by route itself.

Mirrors what `anthropic` does with each event (its Stream.__stream__) and what `anthropic_wire` makes of it:
`ping` and events without a name are skipped; `event: error` is an in-stream error; an event with empty
data is skipped; every other event is dispatched on its JSON `type` (not its `event:` name). Only
`text_delta`s carry text: thinking, signature and tool-use (`input_json_delta`) deltas do not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from routecli.providers import anthropic_wire, raw
from routecli.providers.base import (
    ChatRequest,
    Endpoint,
    ErrorKind,
    Event,
    ProviderError,
    StreamEnd,
    TextDelta,
    Timeouts,
    stream_error,
)
from routecli.providers.sse import SseEvent

_STOP_REASONS = {
    "end_turn": "end",
    "stop_sequence": "end",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "refusal": "content_filter",
}


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = anthropic_wire._body(request)
    wire = anthropic_wire.wire_request(endpoint, body)
    yield from raw.run(
        endpoint, timeouts, wire, reader=StreamReader if request.stream else None, read_body=read_message
    )


@dataclass
class _Tally:
    model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None
    stop_reason: str | None = None

    def add_usage(self, usage: Any) -> None:
        """message_start and message_delta both carry usage; the later, non-null value wins."""
        self.input_tokens = _first(_get(usage, "input_tokens"), self.input_tokens)
        self.output_tokens = _first(_get(usage, "output_tokens"), self.output_tokens)
        self.cached = _first(_get(usage, "cache_read_input_tokens"), self.cached)
        self.cache_write = _first(_get(usage, "cache_creation_input_tokens"), self.cache_write)
        self.reasoning = _first(_get(_get(usage, "output_tokens_details"), "thinking_tokens"), self.reasoning)

    def events(self) -> list[Event]:
        end = StreamEnd(_STOP_REASONS.get(self.stop_reason or "", "other"), self.stop_reason)
        return [anthropic_wire.usage_report(self), end]


class StreamReader:
    flush_at_eof = False  # anthropic's decoder drops an event that never got its blank line
    done = False  # the stream has no end marker of its own: it ends with the body

    def __init__(self) -> None:
        self.tally = _Tally()
        self.stopped = False

    def read(self, event: SseEvent) -> TextDelta | None:
        if event.event in ("ping", None):
            return None
        if event.event == "error":
            raise stream_error(_json_or_text(event.data))
        if not event.data:
            return None
        data = json.loads(event.data)
        kind = _get(data, "type")
        if kind == "content_block_delta":
            delta = _get(data, "delta")
            if _get(delta, "type") == "text_delta":
                return TextDelta(_get(delta, "text"))
        elif kind == "message_start":
            message = _get(data, "message")
            self.tally.model_id = _get(message, "model")
            self.tally.add_usage(_get(message, "usage"))
        elif kind == "message_delta":
            self.tally.stop_reason = _get(_get(data, "delta"), "stop_reason")
            self.tally.add_usage(_get(data, "usage"))
        elif kind == "message_stop":
            self.stopped = True
        return None

    def finish(self) -> list[Event]:
        if not self.stopped:  # the body ended cleanly but the message never did
            raise ProviderError(ErrorKind.STREAM_BROKEN, "stream ended before message_stop")
        return self.tally.events()


def read_message(message: Any) -> list[Event]:
    """A whole (non-streaming) Messages reply."""
    blocks = _get(message, "content") or []
    text = "".join(_get(block, "text") or "" for block in blocks if _get(block, "type") == "text")
    tally = _Tally(model_id=_get(message, "model"), stop_reason=_get(message, "stop_reason"))
    tally.add_usage(_get(message, "usage"))
    return [TextDelta(text), *tally.events()]


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None


def _first(new: int | None, old: int | None) -> int | None:
    return new if new is not None else old
