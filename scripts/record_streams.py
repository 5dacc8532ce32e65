"""Record the byte streams the conformance tests replay: tests/data/streams/<wire>/<name>.http.

Every reply and fault tests/fakeprovider.py produces, for each flavor, as route's own request receives it
(status, headers, the body as it came off the wire), plus hand-made streams the fake does not produce:
thinking and tool-use blocks, pings, gzip, CRLF, OpenRouter comments, other in-stream errors, bodies that end
without their end event, and the usage placements of the OpenAI-compatible servers.

A recording is `HTTP/1.1 <status>`, header lines, a blank line, then the body bytes. Two headers are ours:
x-recording-request (stream | json: which request was sent) and x-recording-ends (drop: the connection is
cut after the body; hang: the server then sends nothing more).

    python scripts/record_streams.py
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from fakeprovider import WIRE_OF, FakeProvider, Fault, Reply  # noqa: E402 - made importable just above

from routecli.providers import anthropic_wire, mistral_wire, openai_wire  # noqa: E402
from routecli.providers.base import ChatRequest, Endpoint  # noqa: E402

OUT = ROOT / "tests" / "data" / "streams"
_BUILDERS = {
    "anthropic": lambda ep, rq: anthropic_wire.wire_request(ep, anthropic_wire._body(rq)),
    "openai": lambda ep, rq: openai_wire.wire_request(ep, openai_wire._body(ep, rq)),
    "mistral": lambda ep, rq: mistral_wire.wire_request(ep, mistral_wire._body(rq)),
}
CASES: dict[str, tuple[Reply | Fault, bool]] = {  # name -> (behaviour, streaming request)
    "reply": (Reply(), True),
    "reply-usage": (Reply(text="The quick brown fox", chunks=4, input_tokens=42, output_tokens=9,
                          cached_tokens=7, reasoning_tokens=3), True),
    "max-tokens": (Reply(stop_reason="max_tokens"), True),
    "content-filter": (Reply(stop_reason="content_filter"), True),
    "other-stop": (Reply(stop_reason="tool_use"), True),
    "model-alias": (Reply(model="model-1-2025-01-01"), True),
    "empty-text": (Reply(text=""), True),
    "unicode": (Reply(text="naïve café ☕ 日本語 🙂", chunks=5), True),
    "429": (Fault("429", retry_after=7), True),
    "500": (Fault("500"), True),
    "529": (Fault("529"), True),
    "401": (Fault("401"), True),
    "404": (Fault("404"), True),
    "400-context": (Fault("400_context"), True),
    "drop": (Fault("drop", after_chunks=2), True),
    "drop-at-start": (Fault("drop"), True),
    "error-event": (Fault("error_event", after_chunks=1), True),
    "malformed": (Fault("malformed", after_chunks=1), True),
    "hang": (Fault("hang", after_chunks=1, seconds=0.3), True),
    "whole": (Reply(text="All at once.", input_tokens=5, output_tokens=3, model="model-1-2025"), False),
    "whole-usage": (Reply(cached_tokens=4, reasoning_tokens=2), False),
    "whole-max-tokens": (Reply(stop_reason="max_tokens"), False),
    "whole-malformed": (Fault("malformed"), False),
    "whole-error": (Fault("error_event"), False),
}


def record(fake: FakeProvider, flavor: str, behaviour: Reply | Fault, stream: bool) -> bytes:
    wire = WIRE_OF[flavor]
    endpoint = Endpoint(flavor, wire, fake.base_url(flavor), "sk-test-key")
    request = _BUILDERS[wire](endpoint, ChatRequest("model-1", "Say hello", 64, stream=stream))
    fake.script(flavor, behaviour)
    ends = ""
    body = bytearray()
    with (
        httpx2.Client(timeout=5) as http,
        http.stream("POST", request.url, headers=request.headers, json=request.body) as response,
    ):
        try:
            for chunk in response.iter_raw():
                body += chunk
        except httpx2.TransportError:
            ends = "hang" if isinstance(behaviour, Fault) and behaviour.kind == "hang" else "drop"
        status, headers = response.status_code, dict(response.headers)
    return recording(status, headers, bytes(body), stream=stream, ends=ends)


def recording(status: int, headers: dict[str, str], body: bytes, *, stream: bool = True, ends: str = "") -> bytes:
    kept = {k: v for k, v in headers.items() if k.lower() in ("content-type", "content-encoding", "retry-after")}
    kept["x-recording-request"] = "stream" if stream else "json"
    if ends:
        kept["x-recording-ends"] = ends
    head = f"HTTP/1.1 {status}\n" + "".join(f"{k.lower()}: {v}\n" for k, v in kept.items()) + "\n"
    return head.encode() + body


def sse(data: Any, event: str | None = None, newline: str = "\n") -> str:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (f"event: {event}{newline}" if event else "") + f"data: {text}{newline}{newline}"


SSE = "text/event-stream; charset=utf-8"


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)  # mtime=0: the same bytes on every run
_ANTHROPIC_START = {"type": "message_start", "message": {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": [],
    "stop_reason": None, "stop_sequence": None,
    "usage": {"input_tokens": 30, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 11, "output_tokens": 1}}}


def _anthropic_block(index: int, block: dict[str, Any], deltas: list[dict[str, Any]]) -> str:
    parts = [sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")]
    for delta in deltas:
        parts.append(sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"))
    return "".join(parts) + sse({"type": "content_block_stop", "index": index}, "content_block_stop")


def _anthropic_end(stop: str = "end_turn", usage: dict[str, Any] | None = None, stop_event: bool = True) -> str:
    delta = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
             "usage": usage or {"output_tokens": 25, "output_tokens_details": {"thinking_tokens": 12}}}
    return sse(delta, "message_delta") + (sse({"type": "message_stop"}, "message_stop") if stop_event else "")


def anthropic_handmade() -> dict[str, bytes]:
    thinking = _anthropic_block(0, {"type": "thinking", "thinking": "", "signature": ""}, [
        {"type": "thinking_delta", "thinking": "Let me think."},
        {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}])
    text = _anthropic_block(1, {"type": "text", "text": ""}, [
        {"type": "text_delta", "text": "Checking "}, {"type": "text_delta", "text": "the weather."}])
    tool = _anthropic_block(2, {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}, [
        {"type": "input_json_delta", "partial_json": '{"city": '},
        {"type": "input_json_delta", "partial_json": '"Paris"}'}])
    start = sse(_ANTHROPIC_START, "message_start") + sse({"type": "ping"}, "ping")
    full = start + thinking + sse({"type": "ping"}, "ping") + text + tool + _anthropic_end("tool_use")
    simple = start + _anthropic_block(0, {"type": "text", "text": ""}, [{"type": "text_delta", "text": "Hi there."}])
    multiline = ('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\n'
                 'data: "delta":{"type":"text_delta","text":"two lines"}}\n\n')
    error = {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}
    return {
        "thinking-tool-use": recording(200, {"content-type": SSE}, full.encode()),
        "crlf": recording(200, {"content-type": SSE}, full.replace("\n", "\r\n").encode()),
        "cr-only": recording(200, {"content-type": SSE}, full.replace("\n", "\r").encode()),
        "gzip": recording(200, {"content-type": SSE, "content-encoding": "gzip"}, _gzip(full)),
        "comments-and-multiline": recording(200, {"content-type": SSE}, (
            ": keep-alive\n\n" + start + ": still here\n" + multiline + simple[len(start):] + _anthropic_end()
        ).encode()),
        "api-error-event": recording(200, {"content-type": SSE}, (simple + sse(error, "error")).encode()),
        "no-message-stop": recording(200, {"content-type": SSE}, (simple + _anthropic_end(stop_event=False)).encode()),
        "no-final-blank-line": recording(200, {"content-type": SSE}, (simple + _anthropic_end())[:-1].encode()),
        "ping-not-json": recording(200, {"content-type": SSE}, (
            start + "event: ping\ndata: keep-alive\n\n" + simple[len(start):] + _anthropic_end()).encode()),
        "unknown-event": recording(200, {"content-type": SSE}, (
            start + sse({"type": "future_event", "x": 1}, "future_event") + simple[len(start):] + _anthropic_end()
        ).encode()),
        "whole-thinking-tool-use": recording(200, {"content-type": "application/json"}, json.dumps({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "thinking", "thinking": "Hmm.", "signature": "c2ln"},
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 30, "output_tokens": 20, "cache_read_input_tokens": 3}}).encode(), stream=False),
    }


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c-1", "object": "chat.completion.chunk", "created": 1, "model": "m-1", "choices": choices} | extra


_USAGE = {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26,
          "prompt_tokens_details": {"cached_tokens": 8}, "completion_tokens_details": {"reasoning_tokens": 2}}


def openai_handmade() -> dict[str, bytes]:
    head = sse(_chunk({"role": "assistant", "content": ""})) + sse(_chunk({"content": "Hello"}))
    body = head + sse(_chunk({"content": " world"})) + sse(_chunk({}, "stop")) + sse(_chunk(None, usage=_USAGE))
    done = body + sse("[DONE]")
    tool = sse(_chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": ""}}]}))
    tool += sse(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":"Paris"}'}}]}))
    groq_usage = {"id": "req_1", "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}
    llama_timings = {"prompt_n": 20, "predicted_n": 6, "predicted_ms": 50.0}
    return {
        "crlf": recording(200, {"content-type": SSE}, done.replace("\n", "\r\n").encode()),
        "gzip": recording(200, {"content-type": SSE, "content-encoding": "gzip"}, _gzip(done)),
        "openrouter-comments": recording(200, {"content-type": SSE}, (
            ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n" + head + ": OPENROUTER PROCESSING\n\n"
            + sse(_chunk({}, "stop", provider="OpenAI")) + sse(_chunk(None, usage=_USAGE | {"cost": 0.0001}))
            + sse("[DONE]")).encode()),
        "groq-x-groq": recording(200, {"content-type": SSE}, (
            head + sse(_chunk({}, "stop", x_groq=groq_usage)) + sse(_chunk(None, usage=_USAGE, x_groq=groq_usage))
            + sse("[DONE]")).encode()),
        "gemini-usage-on-finish": recording(200, {"content-type": SSE}, (
            sse(_chunk({"role": "assistant", "content": "Hello world"}))
            + sse(_chunk({}, "stop", usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}))
            + sse("[DONE]")).encode()),
        "llama-server-timings": recording(200, {"content-type": SSE}, (
            head + sse(_chunk({}, "stop", timings=llama_timings)) + sse(_chunk(None, usage=_USAGE)) + sse("[DONE]")
        ).encode()),
        "lmstudio-stats": recording(200, {"content-type": SSE}, (
            head + sse(_chunk({}, "stop", stats={})) + sse(_chunk(None, usage=_USAGE)) + sse("[DONE]")).encode()),
        "tool-calls": recording(200, {"content-type": SSE}, (
            tool + sse(_chunk({}, "tool_calls")) + sse(_chunk(None, usage=_USAGE)) + sse("[DONE]")).encode()),
        "error-without-message": recording(200, {"content-type": SSE}, (head + sse({"error": "boom"})).encode()),
        "error-then-finish": recording(200, {"content-type": SSE}, (
            head + sse({"error": {"message": "upstream failed", "code": 502}}) + sse(_chunk({}, "stop"))
            + sse("[DONE]")).encode()),
        "named-error-event": recording(200, {"content-type": SSE}, (
            head + sse({"error": {"message": "Provider returned error", "code": 502}}, "error")).encode()),
        "no-done": recording(200, {"content-type": SSE}, body.encode()),
        "no-finish-reason": recording(200, {"content-type": SSE}, (head + sse("[DONE]")).encode()),
        "no-final-blank-line": recording(200, {"content-type": SSE}, (body + "data: [DONE]\n").encode()),
        "multiline-data": recording(200, {"content-type": SSE}, (
            head + 'data: {"id":"c-1","model":"m-1",\n'
            'data: "choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
            + sse("[DONE]")).encode()),
        "whole-moonshot-usage-in-choice": recording(200, {"content-type": "application/json"}, json.dumps({
            "id": "c-1", "object": "chat.completion", "created": 1, "model": "kimi",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop",
                         "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5, "cached_tokens": 2}}]
        }).encode(), stream=False),
    }


def mistral_handmade() -> dict[str, bytes]:
    def chunk(content: Any, finish: str | None = None, **extra: Any) -> str:
        return sse(_chunk({"role": "assistant", "content": content}, finish, **extra))

    thinking = [{"type": "thinking", "thinking": [{"type": "text", "text": "Let me think."}]}]
    usage = {"prompt_tokens": 12, "total_tokens": 20, "completion_tokens": 8,
             "prompt_tokens_details": {"cached_tokens": 3}}
    body = chunk(thinking) + chunk([{"type": "text", "text": "Answer: "}]) + chunk("42", "stop", usage=usage)
    error = {"object": "error", "message": "Service unavailable", "type": "internal_error", "code": "1000"}
    return {
        "list-content": recording(200, {"content-type": SSE}, (body + sse("[DONE]")).encode()),
        "crlf": recording(200, {"content-type": SSE}, (body + sse("[DONE]")).replace("\n", "\r\n").encode()),
        "gzip": recording(200, {"content-type": SSE, "content-encoding": "gzip"},
                          gzip.compress((body + sse("[DONE]")).encode(), mtime=0)),
        "comments": recording(200, {"content-type": SSE},
                              (": ping\n\n" + body + ": ping\n\n" + sse("[DONE]")).encode()),
        "error-object": recording(200, {"content-type": SSE}, (chunk("Hi") + sse(error)).encode()),
        "no-done": recording(200, {"content-type": SSE}, body.encode()),
        "no-final-blank-line": recording(200, {"content-type": SSE}, body[:-2].encode()),
        "no-finish-reason": recording(200, {"content-type": SSE}, (chunk("Hi") + sse("[DONE]")).encode()),
        "chunk-without-id": recording(200, {"content-type": SSE}, (
            chunk("Hi") + sse({"model": "m-1", "choices": []}) + chunk("!", "stop") + sse("[DONE]")).encode()),
        "not-a-chunk": recording(200, {"content-type": SSE}, (chunk("Hi") + sse({"id": "c-1"})).encode()),
        "whole-list-content": recording(200, {"content-type": "application/json"}, json.dumps({
            "id": "c-1", "object": "chat.completion", "created": 1, "model": "magistral", "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": [*thinking, {"type": "text", "text": "42"}]}}]
        }).encode(), stream=False),
    }


def main() -> None:
    files: dict[Path, bytes] = {}
    with FakeProvider() as fake:
        for flavor, wire in WIRE_OF.items():
            for name, (behaviour, stream) in CASES.items():
                files[OUT / wire / f"{flavor}-{name}.http"] = record(fake, flavor, behaviour, stream)
    for wire, made in (("anthropic", anthropic_handmade()), ("openai", openai_handmade()),
                       ("mistral", mistral_handmade())):
        for name, data in made.items():
            files[OUT / wire / f"handmade-{name}.http"] = data
    for path, data in sorted(files.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files)} recordings under {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
