"""Pre-flight, then replay: we send the provider request ourselves, and import the SDK only for a 2xx.

Importing an SDK costs 0.2-0.9 s (httpx2, which all three use, 0.07 s). A provider that is down (refused,
429, 529, 5xx) is found out by our own request and reported with the shared status table without importing
its SDK, so the fallback starts at once. A provider that answers 2xx is handed to its SDK through an httpx2
client whose transport returns that already-open response (status, headers, the live byte stream on the
same socket) for the SDK's one request: the SDK's own parsing reads the stream, as before.

Each adapter builds its request body once; the same dict is our JSON body and the SDK call's keyword
arguments, so what we send is what the SDK would have sent (tests/test_preflight.py compares the bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from routecli import __version__
from routecli.providers.base import Endpoint, Event, ProviderError, Timeouts, http_error
from routecli.providers.guard import Emit, Watch, run_guarded
from routecli.providers.http import client_timeout, http_client, transport_error
from routecli.values import frozen

if TYPE_CHECKING:
    import httpx2  # at run time only inside functions: an import that reaches no provider costs nothing

USER_AGENT = f"routecli/{__version__}"
_ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error answer we read: enough for any provider's JSON error

Sdk = TypeVar("Sdk")


@frozen
class WireRequest:
    """One chat call as it goes on the wire: always a JSON POST."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]


class ReplayMismatch(Exception):
    """The SDK asked for something other than the one request we sent: a bug in a request builder."""


def join_url(base_url: str, path: str) -> str:
    """`path` under `base_url`, as the SDKs join them (one trailing slash of the base is dropped)."""
    return base_url.removesuffix("/") + path


def run(
    endpoint: Endpoint,
    timeouts: Timeouts,
    wire: WireRequest,
    *,
    load: Callable[[], Sdk],
    call: Callable[[Sdk, httpx2.Client, Emit], None],
    classify: Callable[[Sdk, BaseException, bool], ProviderError | None],
) -> Iterator[Event]:
    """Send `wire`; on 2xx `load()` the SDK and `call(sdk, http_client, emit)`, which must make exactly the
    request `wire` describes through that client. `classify` maps the SDK's errors once it is loaded."""
    loaded: list[Sdk] = []

    def produce(watch: Watch, emit: Emit) -> None:
        http = http_client(timeouts, watch)
        try:
            response = _send(http, wire)
            with watch.paused():  # importing the SDK is our time, not the provider's
                loaded.append(load())
            if watch.cancelled.is_set():
                return  # abandoned while importing; the socket is already shut down
            replay = _replay_client(response, wire, timeouts)
            try:
                call(loaded[0], replay, emit)
            finally:
                replay.close()
        finally:
            http.close()

    def classify_any(error: BaseException, responded: bool) -> ProviderError | None:
        if isinstance(error, ProviderError):
            return error
        if _caused_by_mismatch(error):
            return None  # a bug: shown as one, not disguised as a provider failure
        if not loaded:  # failed before any SDK was involved: a network error of our own request
            return transport_error(error, responded)
        return classify(loaded[0], error, responded)

    yield from run_guarded(produce, classify_any, timeouts, secret=endpoint.api_key, name=endpoint.provider)


def _send(http: httpx2.Client, wire: WireRequest) -> httpx2.Response:
    """The open (streaming) 2xx response to `wire`, or ProviderError for any other status."""
    request = http.build_request("POST", wire.url, headers={"user-agent": USER_AGENT, **wire.headers}, json=wire.body)
    response = http.send(request, stream=True)
    if response.is_success:
        return response
    try:
        body = _read_capped(response)
    finally:
        response.close()
    raise http_error(response.status_code, body, response.headers)


def _read_capped(response: httpx2.Response) -> str:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= _ERROR_BODY_LIMIT:
            break
    return bytes(data[:_ERROR_BODY_LIMIT]).decode("utf-8", "replace")


def _replay_client(response: httpx2.Response, wire: WireRequest, timeouts: Timeouts) -> httpx2.Client:
    """An httpx2 client that answers one request matching `wire` with `response`, and nothing else."""
    import httpx2

    pending = [response]
    sent = urlsplit(wire.url)

    def replay(request: httpx2.Request) -> httpx2.Response:
        if not pending:
            raise ReplayMismatch(f"the SDK sent a second request ({request.method} {request.url})")
        url = request.url
        if request.method != "POST" or (url.scheme, url.host, url.port, url.path) != (
            sent.scheme,
            sent.hostname,
            sent.port,
            sent.path,
        ):
            raise ReplayMismatch(f"the SDK asked for {request.method} {url}, but we sent POST {wire.url}")
        held = pending.pop()
        # The raw stream, still content-encoded: the SDK's client decodes it as it would its own response.
        return httpx2.Response(
            held.status_code, headers=held.headers, stream=held.stream, extensions=held.extensions
        )

    # MockTransport is httpx2's transport-from-a-function. The timeout moves no bytes, but the SDKs read it
    # to pick their own defaults (anthropic refuses long non-streaming calls under its default timeout).
    return httpx2.Client(transport=httpx2.MockTransport(replay), timeout=client_timeout(timeouts), trust_env=False)


def _caused_by_mismatch(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 10:  # the SDKs wrap transport failures in their own errors
        if isinstance(error, ReplayMismatch):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False
