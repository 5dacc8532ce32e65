"""The raw path in step with the SDKs: every recorded reply (tests/data/streams/<wire>/) goes through the SDK
adapter and the raw adapter, which must yield identical events and fail with identical error kinds; the raw
path must give the same however the bytes are cut. A new SDK release that parses differently fails here.
Re-record with scripts/record_streams.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamreplay import client_factory, load, recordings

from routecli.providers import get_adapter, preflight, raw
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

WIRES = ("anthropic", "openai", "mistral")
SEEDS = (0, 1, 2, 3)  # 0: one byte per read; others: random cut points (fixed, so failures reproduce)
NORMAL = Timeouts(connect=2, first_token=5, idle=5)
HANG = Timeouts(connect=2, first_token=0.3, idle=0.3)
Outcome = tuple[list[Event], ErrorKind | None]


def replay(path: Path, transport: str, seed: int | None, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    recording = load(path)
    wire = path.parent.name
    factory = client_factory(recording, seed)
    monkeypatch.setattr(preflight, "http_client", factory)
    monkeypatch.setattr(raw, "http_client", factory)
    endpoint = Endpoint("replay", wire, "http://127.0.0.1:9/v1", "sk-test-key", transport)
    request = ChatRequest("model-1", "Say hello", 64, stream=recording.stream)
    timeouts = HANG if recording.ends == "hang" else NORMAL
    events: list[Event] = []
    try:
        for event in get_adapter(wire)(endpoint, request, timeouts):
            events.append(event)
    except ProviderError as error:
        return events, error.kind
    return events, None


ALL = [pytest.param(path, id=f"{path.parent.name}/{path.stem}") for wire in WIRES for path in recordings(wire)]


@pytest.mark.parametrize("path", ALL)
def test_raw_path_matches_the_sdk(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_sdk = replay(path, "sdk", None, monkeypatch)
    by_raw = replay(path, "raw", None, monkeypatch)
    assert by_raw == by_sdk


@pytest.mark.parametrize("path", ALL)
def test_raw_path_does_not_depend_on_how_bytes_arrive(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = replay(path, "raw", None, monkeypatch)
    for seed in SEEDS if load(path).ends != "hang" else (1,):
        assert replay(path, "raw", seed, monkeypatch) == whole, f"seed {seed}"


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("seed", [0, 7])
def test_sdk_path_reads_recut_streams_alike(wire: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference itself is indifferent to cuts (else the comparison above would prove little)."""
    for path in recordings(wire):
        if "handmade" in path.stem and load(path).ends == "":
            assert replay(path, "sdk", seed, monkeypatch) == replay(path, "sdk", None, monkeypatch), path.stem


def test_every_wire_has_its_recordings() -> None:
    for wire in WIRES:
        names = {path.stem for path in recordings(wire)}
        assert len(names) >= 20, wire
        assert any("gzip" in name for name in names) and any("crlf" in name for name in names)


# --- What the recordings must mean (both paths agree above; here, that they agree on the right thing) ----


def _texts(outcome: Outcome) -> str:
    return "".join(event.text for event in outcome[0] if isinstance(event, TextDelta))


def _outcome(name: str, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    wire, _, stem = name.partition("/")
    return replay(Path(__file__).parent / "data" / "streams" / wire / f"{stem}.http", "raw", None, monkeypatch)


def test_thinking_and_tool_use_blocks_carry_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("anthropic/handmade-thinking-tool-use", "anthropic/handmade-gzip", "anthropic/handmade-crlf"):
        events, error = _outcome(name, monkeypatch)
        assert error is None and _texts((events, error)) == "Checking the weather."
        # normalised: every prompt token (30 new + 11 cache reads + 5 cache writes)
        assert events[-2] == UsageReport(30 + 11 + 5, 25, 11, 12, "claude-x", 5)
        assert events[-1] == StreamEnd("other", "tool_use")


def test_usage_placements_of_compatible_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("openai/handmade-openrouter-comments", "openai/handmade-groq-x-groq", "openai/handmade-gzip"):
        events, error = _outcome(name, monkeypatch)
        assert error is None and _texts((events, error)) in ("Hello", "Hello world")
        assert events[-2] == UsageReport(20, 6, 8, 2, "m-1")
    events, _ = _outcome("openai/handmade-gemini-usage-on-finish", monkeypatch)
    assert events[-2] == UsageReport(9, 3, None, None, "m-1")
    events, _ = _outcome("openai/moonshot-reply-usage", monkeypatch)
    assert events[-2] == UsageReport(42, 9, 7, None, "model-1")


def test_mistral_list_content_keeps_only_text(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("mistral/handmade-list-content", "mistral/handmade-no-done", "mistral/handmade-no-final-blank-line"):
        events, error = _outcome(name, monkeypatch)
        assert error is None and _texts((events, error)) == "Answer: 42", name
        assert events[-2] == UsageReport(12, 8, 3, None, "m-1")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("anthropic/anthropic-error-event", ErrorKind.OVERLOADED),
        ("anthropic/handmade-api-error-event", ErrorKind.STREAM_BROKEN),
        ("anthropic/handmade-no-message-stop", ErrorKind.STREAM_BROKEN),
        ("anthropic/handmade-no-final-blank-line", ErrorKind.STREAM_BROKEN),  # message_stop never dispatched
        ("anthropic/anthropic-drop", ErrorKind.STREAM_BROKEN),
        ("anthropic/anthropic-hang", ErrorKind.TIMEOUT),
        ("openai/openai-error-event", ErrorKind.STREAM_BROKEN),
        ("openai/handmade-no-finish-reason", ErrorKind.STREAM_BROKEN),
        ("openai/gemini-malformed", ErrorKind.STREAM_BROKEN),
        ("mistral/handmade-error-object", ErrorKind.STREAM_BROKEN),
        ("mistral/handmade-not-a-chunk", ErrorKind.STREAM_BROKEN),
        ("mistral/handmade-no-finish-reason", ErrorKind.STREAM_BROKEN),
        ("mistral/mistral-429", ErrorKind.RATE_LIMITED),
    ],
)
def test_faults_keep_their_kinds(name: str, kind: ErrorKind, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _outcome(name, monkeypatch)[1] is kind

