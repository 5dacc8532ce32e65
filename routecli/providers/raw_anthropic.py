"""The Anthropic Messages wire without the SDK: the same request as `anthropic_wire`, read by route itself.

Mirrors what `anthropic` does with each event (its Stream.__stream__) and what `anthropic_wire` makes of it:
`ping` and events without a name are skipped; `event: error` is an in-stream error; an event with empty
data is skipped; every other event is dispatched on its JSON `type` (not its `event:` name). Only
`text_delta`s carry text: thinking, signature and tool-use (`input_json_delta`) deltas do not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from routecli.providers import anthropic_wire, raw
from routecli.providers.base import (
    ChatRequest,
    Endpoint,
    ErrorKind,
    Event,
    ProviderError,
    TextDelta,
    Timeouts,
    stream_error,
)
from routecli.providers.sse import SseEvent


def open_stream(endpoint: Endpoint, request: ChatRequest, timeouts: Timeouts) -> Iterator[Event]:
    body = anthropic_wire._body(request)
    wire = anthropic_wire.wire_request(endpoint, body)
    yield from raw.run(
        endpoint, timeouts, wire, reader=StreamReader if request.stream else None, read_body=read_message
    )


class StreamReader:
    flush_at_eof = False  # anthropic's decoder drops an event that never got its blank line
    done = False  # the stream has no end marker of its own: it ends with the body

    def __init__(self) -> None:
        self.tally = anthropic_wire.Tally()
        self.stopped = False

    def read(self, event: SseEvent) -> TextDelta | None:
        if event.event == "ping" or (event.event is None and not event.data.strip()):
            return None  # an unnamed event with data is read by its data's type: garbage there is a broken stream
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
    tally = anthropic_wire.Tally(model_id=_get(message, "model"), stop_reason=_get(message, "stop_reason"))
    tally.add_usage(_get(message, "usage"))
    return [TextDelta(text), *tally.events()]


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None

