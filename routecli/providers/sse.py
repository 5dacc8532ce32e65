"""Server-sent events: bytes, however they arrive, in; events out. Pure: no I/O, no imports beyond stdlib.

Follows the WHATWG event-stream rules as the SDKs apply them: lines end in CRLF, LF or CR (a CR at the end
of one read and an LF at the start of the next are one line end); a leading BOM is dropped; lines starting
with ":" are comments (OpenRouter's ": OPENROUTER PROCESSING": a field with an empty name, ignored like any
unknown field); several `data:` lines join with "\\n"; a blank
line dispatches the event. Dispatch happens when the event set any field, or once an `id` has ever been seen
(as anthropic's and openai's decoders do). At the end of the body an event without its blank line is
discarded (the spec; anthropic and openai) unless the caller asks for it (mistralai dispatches it).
Each line is decoded as strict UTF-8: bad bytes raise UnicodeDecodeError, a ValueError, as in the SDKs.
"""

from __future__ import annotations

from routecli.values import frozen

_BOM = b"\xef\xbb\xbf"


@frozen
class SseEvent:
    event: str | None  # the `event:` name, None when the event had none
    data: str  # the data lines joined by "\n"
    has_data: bool  # at least one `data` line (an empty one counts)


class SseDecoder:
    """Feed it bytes with `feed`, then call `finish` once the body has ended."""

    def __init__(self) -> None:
        self._line = bytearray()  # the line being read, not yet terminated
        self._skip_lf = False  # the last read ended in CR: an LF starting the next read is part of it
        self._at_start = True  # nothing seen yet: a BOM may still come
        self._event: str | None = None
        self._data: list[str] = []
        self._retry: int | None = None
        self._id_seen = False  # the last event id persists across events, and so does its effect on dispatch

    def feed(self, chunk: bytes) -> list[SseEvent]:
        if not chunk:
            return []
        if self._at_start:
            held = bytes(self._line) + chunk
            if len(held) < len(_BOM) and _BOM.startswith(held):
                self._line[:] = held  # could still be the start of a BOM: wait for more
                return []
            self._line.clear()
            chunk = held.removeprefix(_BOM)
            self._at_start = False
        events: list[SseEvent] = []
        start = 0
        if self._skip_lf and chunk[:1] == b"\n":
            start = 1
        self._skip_lf = False
        while True:
            cr, lf = chunk.find(b"\r", start), chunk.find(b"\n", start)
            end = min(cr, lf) if cr >= 0 and lf >= 0 else max(cr, lf)
            if end < 0:
                self._line += chunk[start:]
                return events
            self._line += chunk[start:end]
            event = self._take_line()
            if event is not None:
                events.append(event)
            if chunk[end : end + 2] == b"\r\n":
                start = end + 2
            else:
                start = end + 1
                self._skip_lf = chunk[end] == 13 and start == len(chunk)  # CR last: an LF may follow

    def finish(self, *, dispatch_partial: bool = False) -> list[SseEvent]:
        """The body ended. A last unterminated line still counts as a line; an event never closed by a blank
        line is dispatched only with `dispatch_partial`."""
        if self._at_start:
            self._line[:] = bytes(self._line).removeprefix(_BOM)
        if self._line:
            self._take_line()
        pending = self._pending()
        return [pending] if dispatch_partial and pending is not None else []

    def _take_line(self) -> SseEvent | None:
        line = self._line.decode("utf-8")
        self._line.clear()
        if not line:
            event = self._pending()
            self._event, self._data, self._retry = None, [], None
            return event
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id_seen = True
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _pending(self) -> SseEvent | None:
        if not (self._event or self._data or self._id_seen or self._retry is not None):
            return None
        return SseEvent(self._event, "\n".join(self._data), bool(self._data))
