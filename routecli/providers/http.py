"""The one HTTP client route talks to providers with: httpx2, the client the three SDKs are built on.

Only adapters import httpx2 (inside functions), so commands that call no provider never pay for it.
"""

from __future__ import annotations

import functools
import socket
import time
from typing import Any

from routecli.providers.base import ErrorKind, ProviderError, Timeouts
from routecli.providers.guard import Watch


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
        watch.headers_arrived()

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
        if isinstance(error, httpx2.ReadTimeout) and not responded:  # as the guard's headers deadline says it
            return ProviderError(ErrorKind.NO_RESPONSE, "no response (read timed out)")
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
