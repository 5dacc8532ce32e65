"""Pre-flight, then replay: our own request goes out first; the SDK is imported only for a 2xx, and then parses
the very response we received. What the provider sees must be what the SDK would have sent."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fakeprovider import WIRE_OF, FakeProvider, Fault, Reply, closed_port

import routecli
from routecli.providers import anthropic_wire, get_adapter, preflight
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
)

pytest_plugins = ("fakeprovider",)

WIRES = WIRE_OF
SDK_MODULES = ("anthropic", "openai", "mistralai")
QUICK = Timeouts(connect=0.5, first_token=0.5, idle=0.5)
ROOT = str(Path(routecli.__file__).resolve().parent.parent)


def endpoint(fake: FakeProvider, flavor: str, key: str | None = "sk-test-key") -> Endpoint:
    return Endpoint(flavor, WIRES[flavor], fake.base_url(flavor), key, transport="sdk")  # the SDK path's preflight


def run(ep: Endpoint, request: ChatRequest, timeouts: Timeouts = QUICK) -> tuple[list[Event], ProviderError | None]:
    events: list[Event] = []
    try:
        for event in get_adapter(ep.wire)(ep, request, timeouts):
            events.append(event)
    except ProviderError as error:
        return events, error
    return events, None


# --- A provider that is down never costs an SDK import ----------------------------------------------------

PROBE = """
import json, sys
from routecli.providers import get_adapter
from routecli.providers.base import ChatRequest, Endpoint, ProviderError, Timeouts

wire, calls = sys.argv[1], json.loads(sys.argv[2])
results = []
for base_url, stream, limit in calls:
    ep = Endpoint("probe", wire, base_url, "sk-test-key", "sdk")
    try:
        request = ChatRequest("model-1", "Say hello", 64, stream=stream)
        list(get_adapter(wire)(ep, request, Timeouts(limit, limit, limit)))
        results.append(None)
    except ProviderError as error:
        results.append([error.kind.value, error.status])
sdks = sorted(name for name in ("anthropic", "openai", "mistralai") if name in sys.modules)
print(json.dumps({"results": results, "sdks": sdks, "httpx2": "httpx2" in sys.modules}))
"""


def _probe(wire: str, calls: list[tuple[str, bool, float]]) -> dict[str, Any]:
    """Each call is (base URL, stream, the seconds of every timeout) in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, wire, json.dumps(calls)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.process
@pytest.mark.parametrize("flavor", WIRES)
def test_failures_before_any_reply_import_no_sdk(fake_provider: FakeProvider, flavor: str) -> None:
    faults = [Fault("529"), Fault("429", retry_after=3), Fault("500"), Fault("401"), Fault("529")]
    fake_provider.script(flavor, *faults, Fault("hang", seconds=3))
    url = fake_provider.base_url(flavor)
    refused = f"http://127.0.0.1:{closed_port()}" + ("/v1" if WIRES[flavor] == "openai" else "")
    # Timeouts are only meant to fire on the hang (1 s); the others have 10 s, so a slow start on a busy
    # machine (the first call imports the HTTP stack) cannot turn an answered error into a timeout.
    calls = [(url, True, 10.0)] * 4 + [(url, False, 10.0), (url, True, 1.0), (refused, True, 10.0)]

    probe = _probe(WIRES[flavor], calls)

    overloaded = [ErrorKind.OVERLOADED.value, 503 if flavor == "gemini" else 529]
    assert probe["results"] == [
        overloaded,
        [ErrorKind.RATE_LIMITED.value, 429],
        [ErrorKind.SERVER.value, 500],
        [ErrorKind.AUTH.value, 400 if flavor == "gemini" else 401],  # Gemini answers a bad key with 400
        overloaded,  # the non-streaming form
        [ErrorKind.NO_RESPONSE.value, None],  # no headers within the headers timeout (capped by first_token)
        [ErrorKind.CONNECT.value, None],
    ]
    assert probe["sdks"] == [] and probe["httpx2"]


@pytest.mark.process
def test_a_2xx_imports_only_that_wires_sdk(fake_provider: FakeProvider) -> None:
    probe = _probe("mistral", [(fake_provider.base_url("mistral"), True, 10.0)])
    assert probe["results"] == [None] and probe["sdks"] == ["mistralai"]


# --- What goes on the wire is what the SDK would have sent ------------------------------------------------


@pytest.fixture
def sdk_requests(monkeypatch: pytest.MonkeyPatch) -> list[httpx2.Request]:
    """The requests the SDKs hand to the replay transport (which never sends them)."""
    seen: list[httpx2.Request] = []

    class Recording(httpx2.MockTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            response = super().handle_request(request)  # reads the request body first
            seen.append(request)
            return response

    monkeypatch.setattr(httpx2, "MockTransport", Recording)
    return seen


# Headers that decide how the provider treats the call; the rest are dropped on purpose: user-agent (the
# request is ours, and says so) and the SDKs' x-stainless-* telemetry (retry count, OS, runtime version).
MEANINGFUL_HEADERS = ("authorization", "anthropic-version", "accept", "content-type")


@pytest.mark.parametrize("flavor", WIRES)
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("system", [None, "Be brief."])
def test_preflight_request_equals_the_sdks(
    fake_provider: FakeProvider,
    sdk_requests: list[httpx2.Request],
    flavor: str,
    stream: bool,
    system: str | None,
) -> None:
    request = ChatRequest("model-1", "Question? ünïcødé", 99, system=system, stream=stream)
    key = None if flavor == "ollama" else "sk-test-key"
    roomy = Timeouts(10, 10, 10)  # this test is about the bytes, not the clock: no timeout on a busy machine
    _, error = run(endpoint(fake_provider, flavor, key=key), request, roomy)
    assert error is None

    [sent] = fake_provider.requests_for(flavor)  # exactly one request reached the provider
    [sdk] = sdk_requests  # and the SDK asked for exactly one
    assert json.loads(sdk.content) == sent.body
    assert sdk.method == sent.method and sdk.url.raw_path.decode() == sent.path
    for name in MEANINGFUL_HEADERS:
        assert sdk.headers.get(name) == sent.headers.get(name), name
    assert sent.headers["user-agent"] == preflight.USER_AGENT


def test_anthropic_version_is_the_installed_sdks() -> None:
    from anthropic._constants import ANTHROPIC_API_VERSION

    assert anthropic_wire.API_VERSION == ANTHROPIC_API_VERSION


# --- Replay: the SDK parses the live response -------------------------------------------------------------


def test_long_non_streaming_call_is_not_refused_by_the_sdk(fake_provider: FakeProvider) -> None:
    """anthropic refuses big non-streaming calls under its default timeout; the replay client must not look
    like it has one, or the SDK would refuse after our request had already gone out."""
    events, error = run(endpoint(fake_provider, "anthropic"), ChatRequest("model-1", "Hi", 64_000, stream=False))
    assert error is None and isinstance(events[-1], StreamEnd)


@pytest.mark.parametrize("flavor", ["anthropic", "openai", "mistral"])
def test_gzip_encoded_stream_is_decoded_by_the_sdk(fake_provider: FakeProvider, flavor: str) -> None:
    """The replayed body is the raw, still-encoded stream; the SDK's client decodes it as it would its own."""
    fake_provider.script(flavor, Reply(text="squeezed", chunks=2, input_tokens=3, output_tokens=2))

    class GzipProxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            upstream = httpx2.post(f"http://127.0.0.1:{fake_provider.port}{self.path}", content=body, headers=headers)
            payload = gzip.compress(upstream.content)
            self.send_response(upstream.status_code)
            self.send_header("content-type", upstream.headers["content-type"])
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), GzipProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        base = fake_provider.base_url(flavor).replace(str(fake_provider.port), str(proxy.server_address[1]))
        events, error = run(Endpoint(flavor, WIRES[flavor], base, "k", "sdk"), ChatRequest("model-1", "Hi", 5))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert error is None
    assert "".join(event.text for event in events if isinstance(event, TextDelta)) == "squeezed"
    usage = events[-2]
    assert isinstance(usage, UsageReport) and (usage.input_tokens, usage.output_tokens) == (3, 2)


def _slow_load(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make loading the anthropic SDK take `seconds` (importing it for real first, so only those count)."""
    real_load = anthropic_wire._load
    real_load()

    def slow_load() -> Any:
        time.sleep(seconds)
        return real_load()

    monkeypatch.setattr(anthropic_wire, "_load", slow_load)


def test_sdk_import_does_not_count_against_first_token(
    fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading an SDK can take a second on a cold start; that is our time, not the provider being late."""
    _slow_load(monkeypatch, 0.8)  # longer than QUICK.first_token
    events, error = run(endpoint(fake_provider, "anthropic"), ChatRequest("model-1", "Hi", 64), QUICK)
    assert error is None and isinstance(events[-1], StreamEnd)


def test_first_token_clock_resumes_after_the_import(
    fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers at once, then no text: first_token still fires, late only by the import."""
    _slow_load(monkeypatch, 0.6)
    fake_provider.script("anthropic", Fault("slow", seconds=5))  # headers now, the first delta in 5 s
    started = time.monotonic()
    events, error = run(endpoint(fake_provider, "anthropic"), ChatRequest("model-1", "Hi", 64), QUICK)
    elapsed = time.monotonic() - started
    assert error is not None and error.kind is ErrorKind.TIMEOUT and "no text within" in error.message
    assert events == [] and 0.6 + QUICK.first_token - 0.05 < elapsed < 0.6 + QUICK.first_token + 0.5


# --- The replay transport answers one matching request and nothing else ----------------------------------


def _wire(fake: FakeProvider) -> preflight.WireRequest:
    ep = endpoint(fake, "anthropic")
    body = {"model": "model-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    return anthropic_wire.wire_request(ep, body)


def test_a_request_the_provider_never_saw_is_a_bug_not_a_provider_error(fake_provider: FakeProvider) -> None:
    wire = _wire(fake_provider)

    def call(sdk: Any, http: Any, emit: Any) -> None:
        http.post(wire.url.replace("/v1/messages", "/v1/complete"), json=wire.body)

    stream = preflight.run(
        endpoint(fake_provider, "anthropic"), QUICK, wire, load=lambda: None, call=call, classify=lambda *a: None
    )
    with pytest.raises(preflight.ReplayMismatch, match="but we sent POST"):
        list(stream)


def test_a_second_request_is_a_bug(fake_provider: FakeProvider) -> None:
    wire = _wire(fake_provider)

    def call(sdk: Any, http: Any, emit: Any) -> None:
        http.post(wire.url, json=wire.body).read()
        http.post(wire.url, json=wire.body)

    stream = preflight.run(
        endpoint(fake_provider, "anthropic"), QUICK, wire, load=lambda: None, call=call, classify=lambda *a: None
    )
    with pytest.raises(preflight.ReplayMismatch, match="second request"):
        list(stream)
    assert len(fake_provider.requests_for("anthropic")) == 1


def test_a_mismatch_wrapped_by_the_sdk_is_still_a_bug(fake_provider: FakeProvider) -> None:
    """The SDK wraps transport failures as a connection error; a mismatch must not pass for one."""
    ep = endpoint(fake_provider, "anthropic")
    wire = _wire(fake_provider)

    def call(sdk: Any, http: Any, emit: Any) -> None:
        client = sdk.Anthropic(api_key="k", base_url=ep.base_url + "/elsewhere", max_retries=0, http_client=http)
        client.messages.create(**wire.body)

    stream = preflight.run(ep, QUICK, wire, load=anthropic_wire._load, call=call, classify=anthropic_wire._classify)
    with pytest.raises(Exception) as caught:
        list(stream)
    assert not isinstance(caught.value, ProviderError)
    assert isinstance(caught.value.__cause__, preflight.ReplayMismatch)


# --- Abandoning a call that is still in pre-flight ---------------------------------------------------------


def _route_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("route-")]


def _threads_gone(within: float = 0.5) -> bool:
    deadline = time.monotonic() + within
    while _route_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _route_threads()


def test_first_token_timeout_in_preflight_wakes_the_worker(fake_provider: FakeProvider) -> None:
    fake_provider.script("anthropic", Fault("hang", seconds=10))
    _, error = run(endpoint(fake_provider, "anthropic"), ChatRequest("model-1", "Hi", 64), Timeouts(1, 0.3, 1))
    assert error is not None and error.kind is ErrorKind.NO_RESPONSE
    assert _threads_gone()  # the worker's read of the headers was woken by the socket shutdown


def test_ctrl_c_during_preflight_closes_the_connection(fake_provider: FakeProvider) -> None:
    fake_provider.script("openai", Fault("hang", seconds=10))
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(endpoint(fake_provider, "openai"), ChatRequest("model-1", "Hi", 64), Timeouts(1, 10, 10))
    finally:
        timer.cancel()
    assert _threads_gone()
