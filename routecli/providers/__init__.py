"""Provider adapters, found by wire protocol, and the machinery they share.

Nothing here imports an SDK: `get_adapter` imports only the adapter module it is asked for, and each adapter
imports its SDK only once the provider has answered 2xx to our own request (see `preflight`), so `route
explain` and friends never pay for one, and neither does a call to a provider that is down.

Every adapter runs its call in a worker thread through `run_guarded`. The caller waits on a queue with a
deadline (first_token before the first text, idle after it), so a hanging server can never hold the caller
past its timeouts, whatever the SDK does; on timeout, Ctrl-C or an abandoned generator the worker's socket is
shut down, which wakes its blocked read at once. Local work in the worker (importing the SDK) is done under
`Watch.paused()` and does not count against the provider's timeouts.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from routecli.providers.base import (
    Adapter,
    ErrorKind,
    Event,
    ProviderError,
    TextDelta,
    Timeouts,
    redact,
)

_MODULES = {"anthropic": "anthropic_wire", "openai": "openai_wire", "mistral": "mistral_wire"}
_RAW_MODULES = {"anthropic": "raw_anthropic", "openai": "raw_openai", "mistral": "raw_mistral"}
WIRES = tuple(_MODULES)
TRANSPORTS = ("raw", "sdk")  # raw: route parses the reply itself (no SDK import); sdk: the SDK parses it
NO_KEY = "not-needed"  # sent where a local server wants no key: SDKs would otherwise read keys from the env


def get_adapter(wire: str) -> Adapter:
    """The `open_stream` for `wire`; each call goes to the raw or the SDK adapter as its endpoint's
    `transport` says, importing that adapter module (never an SDK) on first use."""
    if wire not in _MODULES:
        raise ValueError(f"unknown wire protocol {wire!r}; expected one of {', '.join(WIRES)}")
    return functools.partial(_open_stream, wire)


def adapter_for(wire: str, transport: str) -> Adapter:
    """The `open_stream` of one adapter module, imported now."""
    modules = _RAW_MODULES if transport == "raw" else _MODULES
    if transport not in TRANSPORTS or wire not in modules:
        raise ValueError(f"no adapter for wire {wire!r} over transport {transport!r}")
    module = importlib.import_module(f"{__name__}.{modules[wire]}")
    return module.open_stream  # type: ignore[no-any-return]


def _open_stream(wire: str, endpoint: Any, request: Any, timeouts: Timeouts) -> Iterator[Event]:
    return adapter_for(wire, endpoint.transport)(endpoint, request, timeouts)


@dataclass
class Timing:
    """When one call's request went out and its response headers came back (time.monotonic()), and the
    local work (importing an SDK) done after sending: so the ledger can tell the provider's time from route's."""

    sent: float | None = None
    first_byte: float | None = None
    local_s: float = 0.0


# Set by the caller (execute) before it iterates an adapter; the adapter's guard fills it in.
CALL_TIMING: contextvars.ContextVar[Timing | None] = contextvars.ContextVar("route_call_timing", default=None)


class Watch:
    """What one call's caller and worker share: whether the response has begun, how to abort, and when the
    worker is busy with local work that the provider's clock must not count."""

    def __init__(self, on_pause: Callable[[bool], None] | None = None, timing: Timing | None = None) -> None:
        self.cancelled = threading.Event()
        self.responded = False  # response headers arrived: a network error now is a broken stream
        self.timing = timing or Timing()
        self._lock = threading.Lock()
        self._aborters: list[Callable[[], None]] = []
        self._on_pause = on_pause or (lambda paused: None)

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

_EVENT, _DONE, _FAILED, _CRASHED, _PAUSED, _RESUMED = range(6)
LOCAL_WORK_LIMIT = 120.0  # seconds a paused clock waits for the worker's local work before giving up


class _Abandoned(Exception):
    """Raised inside the worker when the caller has gone away, to unwind it quickly."""


def run_guarded(
    produce: Produce, classify: Classify, timeouts: Timeouts, *, secret: str | None, name: str
) -> Iterator[Event]:
    """Run `produce` in a worker thread and yield its events, enforcing first_token and idle here."""
    inbox: queue.SimpleQueue[tuple[int, Any, float]] = queue.SimpleQueue()
    watch = Watch(
        lambda paused: inbox.put((_PAUSED if paused else _RESUMED, None, time.monotonic())), CALL_TIMING.get()
    )
    worker = threading.Thread(
        target=_work, args=(produce, classify, watch, inbox), name=f"route-{name}", daemon=True
    )
    deadline = time.monotonic() + timeouts.first_token
    seen_text = False
    left = 0.0  # while paused: what the clock had left
    paused = False
    worker.start()
    try:
        while True:
            tag, payload, arrived = _next(inbox, deadline, seen_text, timeouts, paused)
            if tag == _PAUSED:
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
) -> tuple[int, Any, float]:
    try:
        return inbox.get_nowait()  # already there: the caller was busy, the provider was not late
    except queue.Empty:
        pass
    remaining = deadline - time.monotonic()
    try:
        if remaining > 0:
            return inbox.get(timeout=remaining)
    except queue.Empty:
        pass
    if paused:
        raise ProviderError(ErrorKind.TIMEOUT, f"local work (loading the SDK) took more than {LOCAL_WORK_LIMIT:g}s")
    if seen_text:
        raise ProviderError(ErrorKind.TIMEOUT, f"stream idle for more than {timeouts.idle:g}s")
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


def http_client(timeouts: Timeouts, watch: Watch) -> Any:
    """An httpx2 client (all three SDKs use httpx2) that applies our timeouts and lets `watch` abort it.

    The request hook overrides whatever timeout the SDK put on the request (mistralai would use one number
    for everything) and installs httpcore's trace hook to learn the socket as soon as it connects.
    """
    import httpx2  # not at module level: only adapters, which need it anyway, pay for it

    timeout = client_timeout(timeouts)

    def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("connect_tcp.complete"):
            sock = info["return_value"].get_extra_info("socket")
            if sock is not None:
                watch.on_abort(lambda: sock.shutdown(socket.SHUT_RDWR))

    def on_request(request: Any) -> None:
        request.extensions["timeout"] = timeout.as_dict()
        request.extensions["trace"] = trace
        watch.timing.sent = watch.timing.sent or time.monotonic()

    def on_response(response: Any) -> None:
        watch.responded = True
        watch.timing.first_byte = watch.timing.first_byte or time.monotonic()

    return httpx2.Client(
        timeout=timeout,
        verify=_ssl_context(),
        follow_redirects=True,
        event_hooks={"request": [on_request], "response": [on_response]},
    )


def client_timeout(timeouts: Timeouts) -> Any:
    """The httpx2.Timeout for our clients: a backstop; the exact first_token and idle limits are run_guarded's."""
    import httpx2

    limit = max(timeouts.first_token, timeouts.idle)
    return httpx2.Timeout(connect=timeouts.connect, read=limit, write=limit, pool=timeouts.connect)


@functools.cache
def _ssl_context() -> Any:
    """The default verifying context (honouring SSL_CERT_FILE / SSL_CERT_DIR), built once per process:
    building one costs ~20 ms, and a run with retries or fallbacks makes a client per attempt."""
    import httpx2

    return httpx2.create_ssl_context()


def transport_error(error: BaseException, responded: bool) -> ProviderError | None:
    """Network and decoding failures, raw (anthropic, mistralai) or as their cause (openai wraps them)."""
    import httpx2

    if isinstance(error, httpx2.TimeoutException):
        what = "connect" if isinstance(error, httpx2.ConnectTimeout) else "read"
        return ProviderError(ErrorKind.TIMEOUT, f"{what} timed out")
    if isinstance(error, (httpx2.TransportError, httpx2.StreamError, OSError)):
        detail = str(error) or type(error).__name__
        if responded:
            return ProviderError(ErrorKind.STREAM_BROKEN, f"connection lost mid-stream: {detail}")
        return ProviderError(ErrorKind.CONNECT, f"cannot reach the provider: {detail}")
    if isinstance(error, ValueError) and responded:  # json.JSONDecodeError from a data line
        return ProviderError(ErrorKind.STREAM_BROKEN, f"malformed data from the provider: {error}")
    return None
