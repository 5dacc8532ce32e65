"""Running one provider call so that nothing the provider (or its SDK) does can hold the caller past its timeouts.

Every adapter runs its call in a worker thread through `run_guarded`. The caller waits on a queue with a
deadline (headers before the response headers, first_token before the first text, idle after it), so a
hanging server can never hold the caller past its timeouts, whatever the SDK does; on timeout, Ctrl-C or an
abandoned generator the worker's socket is shut down, which wakes its blocked read at once. Local work in the
worker (importing the SDK) is done under `Watch.paused()` and does not count against the provider's timeouts.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from routecli.providers.base import ErrorKind, Event, ProviderError, TextDelta, Timeouts, redact


@dataclass
class Timing:
    """When one call's request went out and its response headers came back (time.monotonic()), and the
    local work (importing an SDK) done after sending: so the ledger can tell the provider's time from route's."""

    sent: float | None = None
    first_byte: float | None = None
    local_s: float = 0.0


# Set by the caller (execute) before it iterates an adapter; the adapter's guard fills it in.
CALL_TIMING: contextvars.ContextVar[Timing | None] = contextvars.ContextVar("route_call_timing", default=None)
# Set by the caller too: when this event is set, the call stops within CANCEL_POLL seconds (CallCancelled).
# Ctrl-C reaches only the main thread; this is how it stops the calls of the other (chunk) threads.
CALL_CANCEL: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("route_call_cancel", default=None)
CANCEL_POLL = 0.1


class CallCancelled(Exception):
    """The run this call belongs to was stopped (Ctrl-C, SIGTERM, SIGHUP in the main thread)."""


class Watch:
    """What one call's caller and worker share: whether the response has begun, how to abort, and when the
    worker is busy with local work that the provider's clock must not count."""

    def __init__(
        self,
        on_pause: Callable[[bool], None] | None = None,
        timing: Timing | None = None,
        on_headers: Callable[[], None] | None = None,
    ) -> None:
        self.cancelled = threading.Event()
        self.responded = False  # response headers arrived: a network error now is a broken stream
        self.timing = timing or Timing()
        self._lock = threading.Lock()
        self._aborters: list[Callable[[], None]] = []
        self._on_pause = on_pause or (lambda paused: None)
        self._on_headers = on_headers or (lambda: None)

    def headers_arrived(self) -> None:
        """The response has begun: from now on the caller waits for the first text, not for headers."""
        if not self.responded:
            self.responded = True
            self.timing.first_byte = self.timing.first_byte or time.monotonic()
            self._on_headers()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the first_token / idle clock while the worker does local work (importing an SDK can take a
        second; that is not the provider being late). The clock resumes with the time it had left."""
        self._on_pause(True)
        began = time.monotonic()
        try:
            yield
        finally:
            self.timing.local_s += time.monotonic() - began
            self._on_pause(False)

    def on_abort(self, action: Callable[[], None]) -> None:
        with self._lock:
            if not self.cancelled.is_set():
                self._aborters.append(action)
                return
        _quietly(action)  # already aborted: act now

    def abort(self) -> None:
        with self._lock:
            self.cancelled.set()
            aborters, self._aborters = self._aborters, []
        for action in aborters:
            _quietly(action)


def _quietly(action: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):  # best-effort cleanup of something already failing
        action()


Emit = Callable[[Event | None], None]  # None = a chunk arrived that carried no event (keeps idle alive)
Produce = Callable[[Watch, Emit], None]
Classify = Callable[[BaseException, bool], ProviderError | None]  # (error, responded) -> None if a bug

_EVENT, _DONE, _FAILED, _CRASHED, _PAUSED, _RESUMED, _HEADERS = range(7)
LOCAL_WORK_LIMIT = 120.0  # seconds a paused clock waits for the worker's local work before giving up


class _Abandoned(Exception):
    """Raised inside the worker when the caller has gone away, to unwind it quickly."""


def run_guarded(
    produce: Produce, classify: Classify, timeouts: Timeouts, *, secret: str | None, name: str
) -> Iterator[Event]:
    """Run `produce` in a worker thread and yield its events, enforcing first_token and idle here."""
    inbox: queue.SimpleQueue[tuple[int, Any, float]] = queue.SimpleQueue()
    watch = Watch(
        lambda paused: inbox.put((_PAUSED if paused else _RESUMED, None, time.monotonic())),
        CALL_TIMING.get(),
        lambda: inbox.put((_HEADERS, None, time.monotonic())),
    )
    worker = threading.Thread(
        target=_work, args=(produce, classify, watch, inbox), name=f"route-{name}", daemon=True
    )
    deadline = time.monotonic() + min(timeouts.headers, timeouts.first_token)  # until the headers arrive
    headers_seen = False
    seen_text = False
    left = 0.0  # while paused: what the clock had left
    paused = False
    cancel = CALL_CANCEL.get()
    worker.start()
    try:
        while True:
            tag, payload, arrived = _next(inbox, deadline, seen_text, timeouts, paused, cancel, headers_seen)
            if tag == _HEADERS and not seen_text:  # now the first text, due first_token after the start
                headers_seen = True
                later = timeouts.first_token - min(timeouts.headers, timeouts.first_token)
                left, deadline = (left + later, deadline) if paused else (left, deadline + later)
            elif tag == _PAUSED:
                left, deadline, paused = deadline - arrived, arrived + LOCAL_WORK_LIMIT, True
            elif tag == _RESUMED:
                deadline, paused = arrived + left, False
            elif tag == _EVENT:
                seen_text = seen_text or isinstance(payload, TextDelta)
                if seen_text:  # idle counts from when the chunk arrived, not from when we got to it
                    deadline = arrived + timeouts.idle
                if payload is not None:
                    yield payload
            elif tag == _DONE:
                return
            elif tag == _FAILED:
                raise redact(payload, secret)
            else:
                raise payload  # not a provider failure: a bug, shown as one
    finally:
        watch.abort()


def _next(
    inbox: queue.SimpleQueue[tuple[int, Any, float]],
    deadline: float,
    seen_text: bool,
    timeouts: Timeouts,
    paused: bool = False,
    cancel: threading.Event | None = None,
    headers_seen: bool = True,
) -> tuple[int, Any, float]:
    try:
        return inbox.get_nowait()  # already there: the caller was busy, the provider was not late
    except queue.Empty:
        pass
    while (remaining := deadline - time.monotonic()) > 0:
        if cancel is not None and cancel.is_set():
            raise CallCancelled
        try:
            return inbox.get(timeout=remaining if cancel is None else min(remaining, CANCEL_POLL))
        except queue.Empty:
            pass
    if paused:
        raise ProviderError(ErrorKind.TIMEOUT, f"local work (loading the SDK) took more than {LOCAL_WORK_LIMIT:g}s")
    if seen_text:
        raise ProviderError(ErrorKind.TIMEOUT, f"stream idle for more than {timeouts.idle:g}s")
    if not headers_seen:
        waited = min(timeouts.headers, timeouts.first_token)
        raise ProviderError(ErrorKind.NO_RESPONSE, f"no response within {waited:g}s")
    raise ProviderError(ErrorKind.TIMEOUT, f"no text within {timeouts.first_token:g}s")


def _work(
    produce: Produce, classify: Classify, watch: Watch, inbox: queue.SimpleQueue[tuple[int, Any, float]]
) -> None:
    def emit(event: Event | None) -> None:
        if watch.cancelled.is_set():
            raise _Abandoned
        inbox.put((_EVENT, event, time.monotonic()))

    try:
        produce(watch, emit)
    except _Abandoned:
        return
    except BaseException as error:  # whatever it is, it must reach the caller's thread, not die here
        if watch.cancelled.is_set():
            return  # nobody is listening, and the failure is probably our own abort
        mapped = classify(error, watch.responded)
        inbox.put((_FAILED, mapped, time.monotonic()) if mapped else (_CRASHED, error, time.monotonic()))
    else:
        inbox.put((_DONE, None, time.monotonic()))

