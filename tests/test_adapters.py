"""Our adapters, driving the real SDKs against the fake provider: text, usage, stop reasons, and what every
failure turns into."""

from __future__ import annotations

import email.utils
import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeprovider import BAD_KEY, FLAVORS, WIRE_OF, FakeProvider, Fault, Reply, closed_port

import routecli
from routecli.providers import get_adapter
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
    classify_status,
    parse_retry_after,
)

pytest_plugins = ("fakeprovider",)  # the fake_provider fixture, until conftest.py re-exports it

WIRES = WIRE_OF
ONE_PER_WIRE = ("anthropic", "openai", "mistral")
SDK_OF_WIRE = {"anthropic": "anthropic", "openai": "openai", "mistral": "mistralai"}
QUICK = Timeouts(connect=0.5, first_token=0.5, idle=0.5)  # for the tests of timeouts
GENEROUS = Timeouts(connect=10, first_token=10, idle=10)  # elsewhere: a loaded machine importing an SDK is no fault
SLACK = 0.5  # what a busy 2-core machine may add on top of a timeout
TRANSPORT = "raw"  # set per test by the `transport` fixture: every test runs on both paths


@pytest.fixture(autouse=True, params=["raw", "sdk"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys.modules[__name__], "TRANSPORT", request.param)
    return str(request.param)


def endpoint(fake: FakeProvider, flavor: str, key: str | None = "sk-test-key") -> Endpoint:
    return Endpoint(flavor, WIRES[flavor], fake.base_url(flavor), key, transport=TRANSPORT)


def run(
    ep: Endpoint, request: ChatRequest | None = None, timeouts: Timeouts = GENEROUS
) -> tuple[list[Event], ProviderError | None]:
    """All events until the end or the error, so tests can check what was yielded before a failure."""
    events: list[Event] = []
    try:
        for event in get_adapter(ep.wire)(ep, request or ChatRequest("model-1", "Say hello", 64), timeouts):
            events.append(event)
    except ProviderError as error:
        return events, error
    return events, None


def texts(events: list[Event]) -> list[str]:
    return [event.text for event in events if isinstance(event, TextDelta)]


def failure(ep: Endpoint, request: ChatRequest | None = None, timeouts: Timeouts = QUICK) -> ProviderError:
    _, error = run(ep, request, timeouts)
    assert error is not None, "expected a ProviderError"
    return error


# --- Happy paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_stream_yields_text_then_usage_then_end(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(
        flavor,
        Reply(
            text="The quick brown fox",
            chunks=4,
            input_tokens=42,
            output_tokens=9,
            cached_tokens=7,
            reasoning_tokens=3,
        ),
    )
    events, error = run(endpoint(fake_provider, flavor))

    assert error is None
    assert texts(events) == ["The ", "quick", " brow", "n fox"]
    assert [type(event) for event in events[-2:]] == [UsageReport, StreamEnd]
    assert sum(isinstance(event, UsageReport) for event in events) == 1
    reports_reasoning = flavor not in ("moonshot", "mistral")  # neither sends a reasoning count
    assert events[-2] == UsageReport(
        # normalised by the adapter: every prompt token; Anthropic reports its 7 cache reads apart from 42
        input_tokens=42 + 7 if flavor == "anthropic" else 42,
        output_tokens=9,
        cached_input_tokens=7,
        reasoning_tokens=3 if reports_reasoning else None,
        model_id="model-1",
        cache_write_tokens=0 if flavor == "anthropic" else None,
    )
    assert events[-1].stop_reason == "end"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_non_streaming_yields_the_same_events(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(
        flavor, Reply(text="All at once.", input_tokens=5, output_tokens=3, model="model-1-2025")
    )
    events, error = run(endpoint(fake_provider, flavor), ChatRequest("model-1", "Hi", 64, stream=False))

    assert error is None
    assert texts(events) == ["All at once."]
    usage, end = events[1], events[2]
    assert isinstance(usage, UsageReport) and isinstance(end, StreamEnd)
    assert (usage.input_tokens, usage.output_tokens, usage.model_id) == (5, 3, "model-1-2025")
    assert end.stop_reason == "end"
    assert not fake_provider.requests_for(flavor)[0].body.get("stream")


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize(
    ("stop", "expected"), [("max_tokens", "max_tokens"), ("content_filter", "content_filter")]
)
def test_stop_reasons_are_normalised(
    fake_provider: FakeProvider, flavor: str, stop: str, expected: str
) -> None:
    fake_provider.script(flavor, Reply(stop_reason=stop))
    events, _ = run(endpoint(fake_provider, flavor))
    end = events[-1]
    assert isinstance(end, StreamEnd)
    if flavor == "mistral" and stop == "content_filter":
        expected = "other"  # Mistral has no such finish_reason; the raw value is kept
    assert end.stop_reason == expected and end.raw_stop_reason is not None


def test_unknown_stop_reason_is_other_with_the_raw_value(fake_provider: FakeProvider) -> None:
    fake_provider.script("anthropic", Reply(stop_reason="tool_use"))
    events, _ = run(endpoint(fake_provider, "anthropic"))
    assert events[-1] == StreamEnd("other", "tool_use")


def test_request_bodies_fit_each_wire(fake_provider: FakeProvider) -> None:
    request = ChatRequest("model-1", "Question?", 99, system="Be brief.")
    for flavor in ("anthropic", "openai", "moonshot", "mistral"):
        assert run(endpoint(fake_provider, flavor), request)[1] is None
    anthropic_body, openai_body, moonshot_body, mistral_body = (
        fake_provider.requests_for(flavor)[0].body
        for flavor in ("anthropic", "openai", "moonshot", "mistral")
    )
    assert anthropic_body["system"] == "Be brief." and anthropic_body["max_tokens"] == 99
    assert openai_body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert openai_body["stream_options"] == {"include_usage": True}
    assert openai_body["max_completion_tokens"] == 99 and "max_tokens" not in openai_body
    assert moonshot_body["max_tokens"] == 99 and "max_completion_tokens" not in moonshot_body
    assert mistral_body["max_tokens"] == 99 and mistral_body["messages"][0]["role"] == "system"
    assert not {"stream_options", "max_completion_tokens", "user"} & set(mistral_body)


def test_keys_travel_as_each_api_expects(fake_provider: FakeProvider) -> None:
    for flavor in ("anthropic", "openai", "mistral"):
        run(endpoint(fake_provider, flavor, key="sk-secret"))
    for flavor in ("anthropic", "openai", "mistral"):
        assert fake_provider.requests_for(flavor)[0].headers["authorization"] == "Bearer sk-secret"
    assert fake_provider.requests_for("anthropic")[0].headers["anthropic-version"]


def test_local_server_without_a_key(fake_provider: FakeProvider) -> None:
    events, error = run(endpoint(fake_provider, "ollama", key=None))
    assert error is None and "".join(texts(events)) == "Hello from ollama:model-1."


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_stream_that_stops_early_without_its_end_is_broken(fake_provider: FakeProvider, flavor: str) -> None:
    """A body that ends cleanly but never said message_stop / finish_reason is not a complete answer: no
    transport error, no error event, so only the adapter's own end-of-stream check can catch it."""
    fake_provider.script(flavor, Fault("cut", after_chunks=2))
    events, error = run(endpoint(fake_provider, flavor))
    assert len(texts(events)) == 2
    assert error is not None and error.kind is ErrorKind.STREAM_BROKEN
    assert "stream ended" in error.message


# --- HTTP errors ----------------------------------------------------------------------------------------

HTTP_FAULTS = [
    ("500", ErrorKind.SERVER),
    ("529", ErrorKind.OVERLOADED),
    ("401", ErrorKind.AUTH),
    ("404", ErrorKind.NOT_FOUND),
    ("400_context", ErrorKind.CONTEXT_OVERFLOW),
]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize(("kind", "expected"), HTTP_FAULTS)
def test_http_errors_map_to_kinds(
    fake_provider: FakeProvider, flavor: str, kind: str, expected: ErrorKind
) -> None:
    fake_provider.script(flavor, Fault(kind))
    error = failure(endpoint(fake_provider, flavor))
    assert error.kind is expected
    assert error.status is not None and error.message.startswith(f"HTTP {error.status}: ")
    assert "\n" not in error.message and error.__cause__ is None


@pytest.mark.parametrize("flavor", FLAVORS)
def test_rate_limit_carries_retry_after(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("429", retry_after=7))
    error = failure(endpoint(fake_provider, flavor))
    assert (error.kind, error.status, error.retry_after) == (ErrorKind.RATE_LIMITED, 429, 7.0)


def test_retry_after_as_an_http_date(fake_provider: FakeProvider) -> None:
    fake_provider.script(
        "anthropic", Fault("429", retry_after=email.utils.formatdate(time.time() + 30, usegmt=True))
    )
    error = failure(endpoint(fake_provider, "anthropic"))
    assert error.retry_after is not None and 27 <= error.retry_after <= 31


def test_gemini_bad_key_400_is_auth(fake_provider: FakeProvider) -> None:
    error = failure(endpoint(fake_provider, "gemini", key=BAD_KEY))
    assert (error.kind, error.status) == (ErrorKind.AUTH, 400)


@pytest.mark.parametrize("flavor", ["anthropic", "openai", "moonshot", "gemini", "mistral"])
def test_bad_key_is_auth_and_never_repeated(fake_provider: FakeProvider, flavor: str) -> None:
    error = failure(endpoint(fake_provider, flavor, key=BAD_KEY))  # OpenAI's message echoes the key
    assert error.kind is ErrorKind.AUTH
    assert BAD_KEY not in error.message and BAD_KEY not in str(error)


def test_openai_only_fields_sent_to_mistral_are_a_bad_request(fake_provider: FakeProvider) -> None:
    ep = Endpoint("mistral-compat", "openai", fake_provider.base_url("mistral") + "/v1", "sk-test", TRANSPORT)
    error = failure(ep)
    assert (error.kind, error.status) == (ErrorKind.BAD_REQUEST, 422)
    assert "stream_options" in error.message


# --- Broken streams, timeouts, refused connections ------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_drop_mid_stream_is_broken_after_the_first_deltas(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("drop", after_chunks=2))
    events, error = run(endpoint(fake_provider, flavor))
    assert len(texts(events)) == 2
    assert error is not None and error.kind is ErrorKind.STREAM_BROKEN


@pytest.mark.parametrize("flavor", FLAVORS)
def test_error_event_in_stream(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("error_event", after_chunks=1))
    events, error = run(endpoint(fake_provider, flavor))
    assert len(texts(events)) == 1 and error is not None
    # Anthropic's in-stream error is an overloaded_error: kept OVERLOADED so execute can cool the provider
    assert error.kind is (ErrorKind.OVERLOADED if flavor == "anthropic" else ErrorKind.STREAM_BROKEN)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_malformed_data_is_broken(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("malformed", after_chunks=1))
    events, error = run(endpoint(fake_provider, flavor))
    assert len(texts(events)) == 1
    assert error is not None and error.kind is ErrorKind.STREAM_BROKEN


@pytest.mark.parametrize("flavor", FLAVORS)
def test_hang_before_any_byte_is_no_response_within_first_token(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("hang"))
    started = time.monotonic()
    error = failure(endpoint(fake_provider, flavor))
    assert error.kind is ErrorKind.NO_RESPONSE  # the headers deadline, capped by first_token
    assert time.monotonic() - started < QUICK.first_token + SLACK


@pytest.mark.parametrize("flavor", ONE_PER_WIRE)
def test_stall_after_text_times_out_on_idle(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("hang", after_chunks=1))
    timeouts = Timeouts(connect=0.5, first_token=10, idle=0.4)
    importlib.import_module(SDK_OF_WIRE[WIRES[flavor]])  # a first import in this worker is not the idle clock's
    started = time.monotonic()
    events, error = run(endpoint(fake_provider, flavor), timeouts=timeouts)
    assert len(texts(events)) == 1
    assert error is not None and error.kind is ErrorKind.TIMEOUT and "idle" in error.message
    assert time.monotonic() - started < timeouts.idle + SLACK


@pytest.mark.parametrize("flavor", ONE_PER_WIRE)
def test_slow_stream_within_idle_succeeds(fake_provider: FakeProvider, flavor: str) -> None:
    fake_provider.script(flavor, Fault("slow", seconds=0.2))
    events, error = run(
        endpoint(fake_provider, flavor), timeouts=Timeouts(connect=0.5, first_token=0.5, idle=0.5)
    )
    assert error is None and len(texts(events)) == 3


@pytest.mark.parametrize("wire", ["anthropic", "openai", "mistral"])
def test_connection_refused_is_connect(wire: str) -> None:
    suffix = "/v1" if wire == "openai" else ""
    ep = Endpoint("nowhere", wire, f"http://127.0.0.1:{closed_port()}{suffix}", "sk-test", TRANSPORT)
    # A refusal is immediate; the roomy timeouts only keep a loaded machine's slow SDK import from looking silent.
    error = failure(ep, timeouts=Timeouts(connect=10, first_token=10, idle=10, headers=10))
    assert error.kind is ErrorKind.CONNECT


def _route_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("route-")]


def test_abandoning_the_generator_closes_the_connection(fake_provider: FakeProvider) -> None:
    fake_provider.script("openai", Reply(chunks=5, chunk_delay=0.3))
    stream: Iterator[Event] = get_adapter("openai")(
        endpoint(fake_provider, "openai"), ChatRequest("model-1", "Hi", 64), Timeouts(1, 2, 2)
    )
    assert isinstance(next(stream), TextDelta)
    stream.close()  # what Ctrl-C or a consumer that stops early does to the generator
    deadline = time.monotonic() + 0.5
    while _route_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _route_threads() == []  # the worker's blocked read was woken by the socket shutdown


# --- The tables, and what importing costs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, "", ErrorKind.RATE_LIMITED),
        (429, '{"error": {"code": "insufficient_quota"}}', ErrorKind.AUTH),
        (402, "", ErrorKind.AUTH),
        (529, "", ErrorKind.OVERLOADED),
        (503, '{"message": "The model is overloaded."}', ErrorKind.OVERLOADED),
        (503, "", ErrorKind.SERVER),
        (502, "", ErrorKind.SERVER),
        (403, "", ErrorKind.AUTH),
        (400, '{"reason": "API_KEY_INVALID"}', ErrorKind.AUTH),
        (400, '{"type": "invalid_model"}', ErrorKind.NOT_FOUND),
        (
            400,
            "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000",
            ErrorKind.CONTEXT_OVERFLOW,
        ),
        (413, "", ErrorKind.CONTEXT_OVERFLOW),
        (400, '{"message": "temperature must be <= 2"}', ErrorKind.BAD_REQUEST),
        (422, "", ErrorKind.BAD_REQUEST),
    ],
)
def test_status_table(status: int, body: str, expected: ErrorKind) -> None:
    assert classify_status(status, body) is expected


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"Retry-After": "12"}) == 12
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": email.utils.formatdate(now + 20, usegmt=True)}, now=now) == 20
    assert parse_retry_after({"retry-after": email.utils.formatdate(now - 20, usegmt=True)}, now=now) == 0
    assert parse_retry_after({}, '[{"error": {"details": [{"retryDelay": "17s"}]}}]') == 17
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_unknown_wire() -> None:
    with pytest.raises(ValueError, match="unknown wire protocol"):
        get_adapter("grpc")


@pytest.mark.process
def test_importing_the_providers_imports_no_sdk() -> None:
    code = (
        "import sys, routecli.providers, routecli.providers.base\n"
        "from routecli.providers import get_adapter\n"
        "from routecli.providers import adapter_for\n"
        "for wire in ('anthropic', 'openai', 'mistral'): get_adapter(wire)\n"
        "for wire in ('anthropic', 'openai', 'mistral'): adapter_for(wire, 'raw'); adapter_for(wire, 'sdk')\n"
        "sdks = ('anthropic', 'openai', 'mistralai', 'httpx', 'httpx2')\n"
        "print(sorted(m for m in sdks if m in sys.modules))\n"
    )
    root = str(Path(routecli.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.strip() == "[]"
