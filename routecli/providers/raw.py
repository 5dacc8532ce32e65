"""The raw transport: route reads the provider's reply itself, with no SDK imported.

The request is the one `preflight` sends for the SDK path (same builder, same bytes). A 2xx streaming body
goes through `sse.SseDecoder` and a per-wire `Reader`, a pure function of the decoded events (raw_anthropic,
raw_openai, raw_mistral); a non-streaming body is parsed as JSON and mapped by the wire's `read_body`. The
same worker thread, timeouts and error table as the SDK path (`run_guarded`, `transport_error`) apply, so a
fault classifies to the same ErrorKind either way; tests/test_conformance.py holds both paths to that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from routecli.providers.base import Endpoint, Event, ProviderError, TextDelta, Timeouts
from routecli.providers.guard import Emit, Watch, run_guarded
from routecli.providers.http import http_client, transport_error
from routecli.providers.preflight import WireRequest, _send
from routecli.providers.sse import SseDecoder, SseEvent


class Reader(Protocol):
    """One wire's streaming reply, event by event."""

    flush_at_eof: bool  # does this wire's SDK dispatch a last event that lacks its blank line?
    done: bool  # the wire's end marker ([DONE]) was read: stop reading, as the SDK does

    def read(self, event: SseEvent) -> TextDelta | None:
        """The text this event carries, if any; raises ProviderError for an in-stream error."""
        ...

    def finish(self) -> list[Event]:
        """Usage and end once the body is over; raises ProviderError if the reply never completed."""
        ...


def run(
    endpoint: Endpoint,
    timeouts: Timeouts,
    wire: WireRequest,
    *,
    reader: Callable[[], Reader] | None,
    read_body: Callable[[Any], list[Event]],
) -> Iterator[Event]:
    """Send `wire` and read its reply: as a stream with a fresh `reader()`, or (reader=None) as one body."""

    def produce(watch: Watch, emit: Emit) -> None:
        http = http_client(timeouts, watch)
        try:
            response = _send(http, wire)
            try:
                if reader is not None:
                    pump(response.iter_bytes(), reader(), emit)
                else:
                    for event in read_body(json.loads(response.read())):
                        emit(event)
            finally:
                response.close()
        finally:
            http.close()

    def classify(error: BaseException, responded: bool) -> ProviderError | None:
        if isinstance(error, ProviderError):
            return error
        return transport_error(error, responded)  # network errors, bad UTF-8 or JSON: as the SDK path maps them

    yield from run_guarded(produce, classify, timeouts, secret=endpoint.api_key, name=endpoint.provider)


def pump(chunks: Iterator[bytes], reader: Reader, emit: Emit) -> None:
    """Decode `chunks` and pass every event through `reader` to `emit`. Pure apart from `emit`."""
    decoder = SseDecoder()
    for chunk in chunks:
        for event in decoder.feed(chunk):
            emit(reader.read(event))
            if reader.done:
                break
        if reader.done:
            break
    else:
        for event in decoder.finish(dispatch_partial=reader.flush_at_eof):
            emit(reader.read(event))
    for event in reader.finish():
        emit(event)


def events_of(chunks: Iterator[bytes], reader: Reader) -> list[Event]:
    """Every event `pump` would emit, without the "still alive" Nones: for tests and tools."""
    seen: list[Event] = []
    pump(chunks, reader, lambda event: seen.append(event) if event is not None else None)
    return seen
