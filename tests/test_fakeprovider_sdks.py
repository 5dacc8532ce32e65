"""The fake provider, checked against the real SDKs (no adapters of ours): if an SDK parses what the fake
sends, and raises what it raises for the real API, the adapter tests against the fake mean something."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx2
import pytest
from fakeprovider import BAD_KEY, FLAVORS, FakeProvider, Fault, Reply, closed_port

pytest_plugins = ("fakeprovider",)  # the fake_provider fixture, until conftest.py re-exports it

PROMPT = [{"role": "user", "content": "Say hello"}]


def _anthropic(fake: FakeProvider) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key="sk-ant-test", base_url=fake.base_url("anthropic"), max_retries=0)


def _openai(fake: FakeProvider, flavor: str = "openai", key: str = "sk-test") -> Any:
    import openai

    return openai.OpenAI(api_key=key, base_url=fake.base_url(flavor), max_retries=0)


def _post(
    fake: FakeProvider, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return httpx2.post(f"http://127.0.0.1:{fake.port}{path}", json=body, headers=headers or {}, timeout=5)


# --- Anthropic ------------------------------------------------------------------------------------------


def test_anthropic_stream_parses_into_the_sdk_events(fake_provider: FakeProvider) -> None:
    fake_provider.script(
        "anthropic", Reply(text="Hi there!", input_tokens=12, output_tokens=4, cached_tokens=3)
    )
    stream = _anthropic(fake_provider).messages.create(
        model="claude-x", max_tokens=50, messages=PROMPT, stream=True
    )
    events = list(stream)

    types = [event.type for event in events]  # the SDK skips `ping` itself
    assert types == ["message_start", "content_block_start"] + ["content_block_delta"] * 3 + [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert "".join(event.delta.text for event in events if event.type == "content_block_delta") == "Hi there!"
    start, delta = events[0], events[-2]
    assert (start.message.usage.input_tokens, start.message.usage.cache_read_input_tokens) == (12, 3)
    assert (delta.delta.stop_reason, delta.usage.output_tokens) == ("end_turn", 4)


def test_anthropic_stream_helper_accumulates_the_final_message(fake_provider: FakeProvider) -> None:
    fake_provider.script("anthropic", Reply(text="Accumulated text", chunks=5, stop_reason="max_tokens"))
    with _anthropic(fake_provider).messages.stream(model="claude-x", max_tokens=5, messages=PROMPT) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == "Accumulated text"
    assert message.stop_reason == "max_tokens"


def test_anthropic_sse_bytes_on_the_wire(fake_provider: FakeProvider) -> None:
    body = {"model": "claude-x", "max_tokens": 5, "messages": PROMPT, "stream": True}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    text = _post(fake_provider, "/anthropic/v1/messages", body, headers).text
    assert text.startswith('event: message_start\ndata: {"type":"message_start","message":{')
    assert "event: ping\ndata: " in text
    assert text.endswith('event: message_stop\ndata: {"type":"message_stop"}\n\n')


def test_anthropic_non_streaming_message(fake_provider: FakeProvider) -> None:
    fake_provider.script("anthropic", Reply(text="Whole", input_tokens=5, output_tokens=2))
    message = _anthropic(fake_provider).messages.create(model="claude-x", max_tokens=50, messages=PROMPT)
    assert (message.content[0].text, message.usage.input_tokens, message.usage.output_tokens) == (
        "Whole",
        5,
        2,
    )


@pytest.mark.parametrize(
    ("fault", "error_class", "error_type"),
    [
        (Fault("429", retry_after=3), "RateLimitError", "rate_limit_error"),
        (Fault("529"), "OverloadedError", "overloaded_error"),
        (Fault("500"), "InternalServerError", "api_error"),
        (Fault("401"), "AuthenticationError", "authentication_error"),
        (Fault("404"), "NotFoundError", "not_found_error"),
        (Fault("400_context"), "BadRequestError", "invalid_request_error"),
    ],
)
def test_anthropic_errors_raise_the_sdk_classes(
    fake_provider: FakeProvider, fault: Fault, error_class: str, error_type: str
) -> None:
    import anthropic

    fake_provider.script("anthropic", fault)
    with pytest.raises(getattr(anthropic, error_class)) as caught:
        _anthropic(fake_provider).messages.create(model="claude-x", max_tokens=5, messages=PROMPT)
    assert caught.value.type == error_type
    if fault.kind == "429":
        assert caught.value.response.headers["retry-after"] == "3"


def test_anthropic_in_stream_error_event(fake_provider: FakeProvider) -> None:
    import anthropic

    fake_provider.script("anthropic", Fault("error_event", after_chunks=1))
    stream = _anthropic(fake_provider).messages.create(model="c", max_tokens=5, messages=PROMPT, stream=True)
    with pytest.raises(anthropic.APIStatusError) as caught:
        list(stream)
    assert caught.value.type == "overloaded_error"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"x-api-key": "sk-ant"}, 200),
        ({"authorization": "Bearer sk-ant"}, 200),
        ({}, 401),
        ({"x-api-key": BAD_KEY}, 401),
    ],
)
def test_anthropic_key_headers(fake_provider: FakeProvider, headers: dict[str, str], status: int) -> None:
    body = {"model": "c", "max_tokens": 5, "messages": PROMPT}
    response = _post(
        fake_provider, "/anthropic/v1/messages", body, {"anthropic-version": "2023-06-01", **headers}
    )
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["type"] == "authentication_error"


# --- OpenAI and the compatible flavors ------------------------------------------------------------------


def test_openai_usage_chunk_only_when_asked(fake_provider: FakeProvider) -> None:
    fake_provider.script(
        "openai", Reply(input_tokens=8, output_tokens=3, cached_tokens=2, reasoning_tokens=1)
    )
    client = _openai(fake_provider)
    chunks = list(
        client.chat.completions.create(
            model="gpt-x", messages=PROMPT, stream=True, stream_options={"include_usage": True}
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (8, 3, 11)
    assert last.usage.prompt_tokens_details.cached_tokens == 2
    assert last.usage.completion_tokens_details.reasoning_tokens == 1
    assert chunks[-2].choices[0].finish_reason == "stop"

    plain = list(client.chat.completions.create(model="gpt-x", messages=PROMPT, stream=True))
    assert all(chunk.usage is None for chunk in plain)
    assert plain[-1].choices[0].finish_reason == "stop"


def test_openai_sse_ends_with_done(fake_provider: FakeProvider) -> None:
    body = {"model": "gpt-x", "messages": PROMPT, "stream": True}
    text = _post(fake_provider, "/openai/v1/chat/completions", body, {"authorization": "Bearer k"}).text
    assert text.startswith('data: {"id":"chatcmpl-fake","object":"chat.completion.chunk"')
    assert text.endswith("data: [DONE]\n\n")


def test_openai_non_streaming_completion(fake_provider: FakeProvider) -> None:
    fake_provider.script("openai", Reply(text="Done.", stop_reason="max_tokens"))
    completion = _openai(fake_provider).chat.completions.create(model="gpt-x", messages=PROMPT)
    assert completion.choices[0].message.content == "Done."
    assert completion.choices[0].finish_reason == "length"


def test_moonshot_puts_usage_inside_the_final_choice(fake_provider: FakeProvider) -> None:
    fake_provider.script("moonshot", Reply(input_tokens=9, output_tokens=4, cached_tokens=6))
    chunks = list(
        _openai(fake_provider, "moonshot").chat.completions.create(
            model="kimi", messages=PROMPT, stream=True, stream_options={"include_usage": True}
        )
    )
    final = chunks[-1]
    assert final.usage is None and final.choices[0].finish_reason == "stop"
    assert final.choices[0].model_extra["usage"] == {
        "prompt_tokens": 9,
        "completion_tokens": 4,
        "total_tokens": 13,
        "cached_tokens": 6,
    }


def test_gemini_wraps_errors_in_a_list_and_answers_a_bad_key_with_400(fake_provider: FakeProvider) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        _openai(fake_provider, "gemini", key=BAD_KEY).chat.completions.create(
            model="gemini-x", messages=PROMPT
        )
    body = caught.value.body
    assert isinstance(body, list)
    assert body[0]["error"]["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize("flavor", ["openai", "ollama"])
def test_models_listing(fake_provider: FakeProvider, flavor: str) -> None:
    models = _openai(fake_provider, flavor).models.list()
    assert [model.id for model in models] == ["fake-mini", "fake-large"]


@pytest.mark.parametrize(
    ("flavor", "status"),
    [("openai", 401), ("moonshot", 401), ("mistral", 401), ("gemini", 400), ("ollama", 200)],
)
def test_missing_key(fake_provider: FakeProvider, flavor: str, status: int) -> None:
    path = fake_provider.base_url(flavor).split(str(fake_provider.port))[1]
    path += "/v1/chat/completions" if flavor == "mistral" else "/chat/completions"
    assert _post(fake_provider, path, {"model": "m", "messages": PROMPT}).status_code == status


# --- Mistral --------------------------------------------------------------------------------------------


def test_mistral_stream_has_usage_on_the_last_content_chunk(fake_provider: FakeProvider) -> None:
    from mistralai.client import Mistral

    fake_provider.script("mistral", Reply(text="Bonjour", chunks=2, input_tokens=6, output_tokens=2))
    client = Mistral(api_key="k", server_url=fake_provider.base_url("mistral"))
    chunks = [event.data for event in client.chat.stream(model="mistral-x", messages=PROMPT)]
    last = chunks[-1]
    assert last.choices[0].delta.content == "jour" and last.choices[0].finish_reason == "stop"
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (6, 2)
    assert "stream_options" not in fake_provider.requests_for("mistral")[0].body


@pytest.mark.parametrize("field", ["stream_options", "max_completion_tokens", "user"])
def test_mistral_rejects_openai_only_fields(fake_provider: FakeProvider, field: str) -> None:
    import openai

    client = openai.OpenAI(api_key="k", base_url=fake_provider.base_url("mistral") + "/v1", max_retries=0)
    extra = {"stream_options": {"include_usage": True}, "max_completion_tokens": 10, "user": "u1"}[field]
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model="m", messages=PROMPT, stream=True, **{field: extra})
    assert caught.value.body["detail"][0]["loc"] == ["body", field]


# --- The server itself ----------------------------------------------------------------------------------


def test_scripted_behaviours_are_consumed_in_order_then_default(fake_provider: FakeProvider) -> None:
    fake_provider.script("openai", Fault("500"), Reply(text="second"))
    statuses, texts = [], []
    for _ in range(3):
        response = _post(
            fake_provider,
            "/openai/v1/chat/completions",
            {"model": "m", "messages": PROMPT},
            {"authorization": "Bearer k"},
        )
        statuses.append(response.status_code)
        texts.append(
            response.json()["choices"][0]["message"]["content"] if response.status_code == 200 else None
        )
    assert statuses == [500, 200, 200]
    assert texts == [None, "second", "Hello from openai:m."]


def test_requests_are_recorded_from_many_threads(fake_provider: FakeProvider) -> None:
    def call(flavor: str) -> None:
        path = fake_provider.base_url(flavor).split(str(fake_provider.port))[1] + "/models"
        httpx2.get(
            f"http://127.0.0.1:{fake_provider.port}{path}", headers={"authorization": "Bearer k"}, timeout=5
        )

    threads = [threading.Thread(target=call, args=(flavor,)) for flavor in ("openai", "ollama") * 6]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_provider.requests) == 12
    assert len(fake_provider.requests_for("ollama")) == 6
    assert {request.headers["authorization"] for request in fake_provider.requests} == {"Bearer k"}


def test_stop_returns_promptly_with_hanging_requests_in_flight() -> None:
    fake = FakeProvider().start()
    fake.script("openai", Fault("hang"), Fault("hang", after_chunks=1))
    outcomes: list[str] = []

    def hang() -> None:
        body = {"model": "m", "messages": PROMPT, "stream": True}
        try:
            _post(fake, "/openai/v1/chat/completions", body, {"authorization": "Bearer k"})
            outcomes.append("answered")
        except httpx2.HTTPError as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=hang) for _ in range(2)]
    for thread in threads:
        thread.start()
    while len(fake.requests) < 2:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.5
    for thread in threads:
        thread.join(timeout=5)
    assert len(outcomes) == 2 and "answered" not in outcomes


def test_base_urls(fake_provider: FakeProvider) -> None:
    root = f"http://127.0.0.1:{fake_provider.port}"
    assert {flavor: fake_provider.base_url(flavor) for flavor in FLAVORS} == {
        "anthropic": f"{root}/anthropic",
        "openai": f"{root}/openai/v1",
        "moonshot": f"{root}/moonshot/v1",
        "gemini": f"{root}/gemini/v1beta/openai",
        "mistral": f"{root}/mistral",
        "ollama": f"{root}/ollama/v1",
    }


def test_closed_port_refuses() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed_port()), timeout=1)


def test_unknown_fault_and_flavor_are_rejected(fake_provider: FakeProvider) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("418")
    with pytest.raises(ValueError, match="unknown flavor"):
        fake_provider.script("cohere", Reply())
