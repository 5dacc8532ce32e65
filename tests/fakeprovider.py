"""A fake LLM provider on 127.0.0.1 that speaks each real wire protocol byte for byte.

One server stands in for every provider: each "flavor" lives under its own path prefix, and the real SDKs are
pointed at it through their base-URL settings (`base_url(flavor)` gives the form each SDK takes), so the
SDKs' own parsing is exercised too.

    with FakeProvider() as fake:
        fake.script("anthropic", Fault("429", retry_after=7), Reply(text="hi", chunks=2))
        ...  # first request gets the 429, the second the reply, later ones the default reply
        fake.requests_for("anthropic")[0].body["model"]

Behaviours are consumed one per chat request that passes the key check (and, for Mistral, the check for
OpenAI-only fields); with none queued a request gets `Reply()`. Stdlib only (plus pytest for the fixture).

Load it as a plugin (`pytest_plugins = ["fakeprovider"]`) for the `fake_provider` fixture. It has no asserts
of its own, so it opts out of assert rewriting (PYTEST_DONT_REWRITE), which also keeps pytest from warning
when a test module imports it before the plugin is loaded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FLAVORS = ("anthropic", "openai", "moonshot", "gemini", "mistral", "ollama")
WIRE_OF = {  # the wire protocol (adapter) each flavor speaks
    "anthropic": "anthropic",
    "openai": "openai",
    "moonshot": "openai",
    "gemini": "openai",
    "ollama": "openai",
    "mistral": "mistral",
}
_PREFIXES = {
    "anthropic": "/anthropic",
    "openai": "/openai/v1",
    "moonshot": "/moonshot/v1",
    "gemini": "/gemini/v1beta/openai",
    "mistral": "/mistral",
    "ollama": "/ollama/v1",
}
BAD_KEY = "bad-key"  # the key every flavor that checks keys rejects
FAULT_KINDS = (
    "429",
    "500",
    "529",
    "401",
    "404",
    "400_context",
    "hang",
    "silent",
    "headers",
    "slow",
    "drop",
    "cut",
    "error_event",
    "malformed",
)
_CREATED = 1_760_000_000


# --- Behaviours -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A normal answer. Unset counts are deterministic: input = prompt chars // 4, output = text chars // 4"""

    text: str | None = None  # default: "Hello from {flavor}:{model}."
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    chunks: int = 3  # how many text deltas the text is split into
    chunk_delay: float = 0.0  # seconds before each text delta
    stop_reason: str = "end"  # "end" | "max_tokens" | "content_filter" | a raw value passed through
    model: str | None = None  # the model id to report; default: the one requested
    hold: threading.Event | None = None  # answer only once this is set (a test acts while the call is in flight)


@dataclass(frozen=True)
class Fault:
    """A failure. HTTP kinds answer with the flavor's real error shape; the others misbehave on the wire.

    hang: send nothing for `seconds` (default: until stop), then close; with after_chunks > 0 the stream
    and stalls after that many text deltas. slow: a normal reply with `seconds` (default 0.1) between deltas.
    drop: close the socket after `after_chunks` deltas. cut: end the body cleanly (a well-formed last chunk)
    after `after_chunks` deltas, with none of the closing frames (Anthropic's message_delta and message_stop,
    OpenAI's finish_reason chunk and [DONE]); not a stream, it is a drop. error_event / malformed: an in-stream
    error event or a data line that is not JSON after `after_chunks` deltas. silent: accept the request and
    never send a byte (until the server stops). headers: send the response headers (and, streaming, the frames
    before the first text, such as Anthropic's message_start), then nothing, as a model thinking forever.
    """

    kind: str
    retry_after: float | str | None = None  # the Retry-After header of a 429 (seconds or an HTTP date)
    after_chunks: int = 0
    seconds: float | None = None
    message: str | None = None  # an HTTP kind's error message in place of the flavor's own (what it may say)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")


Behaviour = Reply | Fault


@dataclass(frozen=True)
class RecordedRequest:
    flavor: str
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, the raw text if it was not JSON, None if empty
    time: float  # time.monotonic() on arrival


# --- What a reply consists of ---------------------------------------------------------------------------


@dataclass
class _Plan:
    flavor: str
    model: str
    pieces: list[str]
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    stop: str
    delay: float
    include_usage: bool  # OpenAI's stream_options.include_usage
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = "".join(self.pieces)


def _plan(flavor: str, body: dict[str, Any], reply: Reply) -> _Plan:
    model = reply.model or str(body.get("model", "unknown-model"))
    text = reply.text if reply.text is not None else f"Hello from {flavor}:{body.get('model')}."
    options = body.get("stream_options") or {}
    return _Plan(
        flavor=flavor,
        model=model,
        pieces=_split(text, reply.chunks),
        input_tokens=reply.input_tokens
        if reply.input_tokens is not None
        else max(1, _prompt_chars(body) // 4),
        output_tokens=reply.output_tokens if reply.output_tokens is not None else max(1, len(text) // 4),
        cached_tokens=reply.cached_tokens,
        reasoning_tokens=reply.reasoning_tokens,
        stop=reply.stop_reason,
        delay=reply.chunk_delay,
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
    )


def _split(text: str, parts: int) -> list[str]:
    parts = max(1, min(parts, len(text) or 1))
    bounds = [len(text) * i // parts for i in range(parts + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(parts)]


def _prompt_chars(body: dict[str, Any]) -> int:
    def chars(content: Any) -> int:
        if isinstance(content, str):
            return len(content)
        if isinstance(content, list):
            return sum(len(str(part.get("text", ""))) for part in content if isinstance(part, dict))
        return 0

    messages = body.get("messages") or []
    total = sum(chars(message.get("content")) for message in messages if isinstance(message, dict))
    return total + chars(body.get("system"))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _sse(data: str, event: str | None = None) -> bytes:
    return (f"event: {event}\n" if event else "").encode() + f"data: {data}\n\n".encode()


# --- Dialects: each flavor's paths, keys, errors and stream bytes ---------------------------------------

_Error = tuple[int, dict[str, str], Any]  # status, extra headers, JSON body


class _Anthropic:
    chat_path = "/v1/messages"
    models_path = "/v1/models"
    key_required = True

    def key(self, headers: dict[str, str]) -> str | None:
        return headers.get("x-api-key") or _bearer(headers)

    def check(self, headers: dict[str, str], body: Any) -> _Error | None:
        if not headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def error(self, kind: str, model: str, retry_after: float | str | None) -> _Error:
        if kind == "429":
            status, error_type, message = (
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your rate limit.",
            )
        else:
            status, error_type, message = {
                "401": (401, "authentication_error", "invalid x-api-key"),
                "404": (404, "not_found_error", f"model: {model}"),
                "400_context": (
                    400,
                    "invalid_request_error",
                    "prompt is too long: 250000 tokens > 200000 maximum",
                ),
                "500": (500, "api_error", "Internal server error"),
                "529": (529, "overloaded_error", "Overloaded"),
            }[kind]
        status, headers, body = self._error(status, error_type, message)
        return status, _retry_headers(kind, retry_after) | headers, body

    def _error(self, status: int, error_type: str, message: str) -> _Error:
        body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake"}
        return status, {"request-id": "req_fake"}, body

    def models(self) -> Any:
        data = [
            {
                "type": "model",
                "id": "claude-fake-1",
                "display_name": "Claude Fake",
                "created_at": "2025-01-01T00:00:00Z",
            }
        ]
        return {"data": data, "has_more": False, "first_id": "claude-fake-1", "last_id": "claude-fake-1"}

    def head(self, plan: _Plan) -> list[bytes]:
        usage = {
            "input_tokens": plan.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": plan.cached_tokens,
            "output_tokens": 1,
        }
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        return [
            _sse(_dumps({"type": "message_start", "message": message}), "message_start"),
            _sse(_dumps(start), "content_block_start"),
            _sse(_dumps({"type": "ping"}), "ping"),
        ]

    def delta(self, plan: _Plan, index: int) -> bytes:
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": plan.pieces[index]},
        }
        return _sse(_dumps(delta), "content_block_delta")

    def tail(self, plan: _Plan) -> list[bytes]:
        usage: dict[str, Any] = {"output_tokens": plan.output_tokens}
        if plan.reasoning_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": plan.reasoning_tokens}
        message_delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason(plan.stop), "stop_sequence": None},
            "usage": usage,
        }
        return [
            _sse(_dumps({"type": "content_block_stop", "index": 0}), "content_block_stop"),
            _sse(_dumps(message_delta), "message_delta"),
            _sse(_dumps({"type": "message_stop"}), "message_stop"),
        ]

    def error_event(self) -> bytes:
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        return _sse(_dumps(error), "error")

    def malformed(self) -> bytes:
        return _sse(
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":',
            "content_block_delta",
        )

    def complete(self, plan: _Plan) -> Any:
        usage: dict[str, Any] = {
            "input_tokens": plan.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": plan.cached_tokens,
            "output_tokens": plan.output_tokens,
        }
        if plan.reasoning_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": plan.reasoning_tokens}
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [{"type": "text", "text": plan.text}],
            "stop_reason": self.stop_reason(plan.stop),
            "stop_sequence": None,
            "usage": usage,
        }

    def stop_reason(self, stop: str) -> str:
        return {"end": "end_turn", "max_tokens": "max_tokens", "content_filter": "refusal"}.get(stop, stop)


class _OpenAI:
    """OpenAI Chat Completions; also Ollama's compatible server, which wants no key."""

    chat_path = "/chat/completions"
    models_path = "/models"

    def __init__(self, key_required: bool = True) -> None:
        self.key_required = key_required

    def key(self, headers: dict[str, str]) -> str | None:
        return _bearer(headers)

    def check(self, headers: dict[str, str], body: Any) -> _Error | None:
        return None

    def error(self, kind: str, model: str, retry_after: float | str | None) -> _Error:
        status, error_type, code, message = {
            "429": (
                429,
                "requests",
                "rate_limit_exceeded",
                f"Rate limit reached for {model} on requests per min (RPM).",
            ),
            "401": (
                401,
                "invalid_request_error",
                "invalid_api_key",
                f"Incorrect API key provided: {BAD_KEY}.",
            ),
            "404": (
                404,
                "invalid_request_error",
                "model_not_found",
                f"The model `{model}` does not exist or you do not have access to it.",
            ),
            "400_context": (
                400,
                "invalid_request_error",
                "context_length_exceeded",
                "This model's maximum context length is 128000 tokens. "
                "However, your messages resulted in 250000 tokens.",
            ),
            "500": (
                500,
                "server_error",
                None,
                "The server had an error while processing your request. Sorry about that!",
            ),
            "529": (529, "server_error", None, "The engine is currently overloaded, please try again later."),
        }[kind]
        body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
        return status, _retry_headers(kind, retry_after), body

    def models(self) -> Any:
        data = [
            {"id": model, "object": "model", "created": _CREATED, "owned_by": "fake"}
            for model in ("fake-mini", "fake-large")
        ]
        return {"object": "list", "data": data}

    def chunk(self, plan: _Plan, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        chunk: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": plan.model,
            "system_fingerprint": "fp_fake",
            "choices": [choice],
        }
        if plan.include_usage:
            chunk["usage"] = None  # OpenAI sends usage: null on every chunk before the usage chunk
        chunk.update(extra)
        return _sse(_dumps(chunk))

    def usage(self, plan: _Plan) -> dict[str, Any]:
        return {
            "prompt_tokens": plan.input_tokens,
            "completion_tokens": plan.output_tokens,
            "total_tokens": plan.input_tokens + plan.output_tokens,
            "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens, "audio_tokens": 0},
        }

    def head(self, plan: _Plan) -> list[bytes]:
        return [self.chunk(plan, {"role": "assistant", "content": "", "refusal": None})]

    def delta(self, plan: _Plan, index: int) -> bytes:
        return self.chunk(plan, {"content": plan.pieces[index]})

    def tail(self, plan: _Plan) -> list[bytes]:
        frames = [self.chunk(plan, {}, self.stop_reason(plan.stop))]
        if plan.include_usage:
            usage_chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": _CREATED,
                "model": plan.model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": self.usage(plan),
            }
            frames.append(_sse(_dumps(usage_chunk)))
        return [*frames, _sse("[DONE]")]

    def error_event(self) -> bytes:
        error = {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return _sse(_dumps({"error": error}))

    def malformed(self) -> bytes:
        return _sse(
            '{"id":"chatcmpl-fake","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":'
        )

    def complete(self, plan: _Plan) -> Any:
        message = {"role": "assistant", "content": plan.text, "refusal": None, "annotations": []}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": _CREATED,
            "model": plan.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.stop_reason(plan.stop),
                }
            ],
            "usage": self.usage(plan),
            "system_fingerprint": "fp_fake",
        }

    def stop_reason(self, stop: str) -> str:
        return {"end": "stop", "max_tokens": "length", "content_filter": "content_filter"}.get(stop, stop)


class _Moonshot(_OpenAI):
    """Moonshot puts usage inside choices[0] of the final chunk, whatever stream_options says."""

    def usage(self, plan: _Plan) -> dict[str, Any]:
        usage = {
            "prompt_tokens": plan.input_tokens,
            "completion_tokens": plan.output_tokens,
            "total_tokens": plan.input_tokens + plan.output_tokens,
        }
        return usage | ({"cached_tokens": plan.cached_tokens} if plan.cached_tokens else {})

    def error(self, kind: str, model: str, retry_after: float | str | None) -> _Error:
        if kind != "400_context":
            return super().error(kind, model, retry_after)
        message = "Invalid request: Your request exceeded model token limit: 131072"
        return 400, {}, {"error": {"message": message, "type": "invalid_request_error"}}

    def tail(self, plan: _Plan) -> list[bytes]:
        choice = {
            "index": 0,
            "delta": {},
            "finish_reason": self.stop_reason(plan.stop),
            "usage": self.usage(plan),
        }
        final = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": plan.model,
            "choices": [choice],
        }
        return [_sse(_dumps(final)), _sse("[DONE]")]


class _Gemini(_OpenAI):
    """Gemini's OpenAI-compatible endpoint wraps errors in a list and answers a bad key with 400."""

    def error(self, kind: str, model: str, retry_after: float | str | None) -> _Error:
        status, code, message = {
            "429": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
            "401": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
            "404": (404, "NOT_FOUND", f"models/{model} is not found for API version v1beta."),
            "400_context": (
                400,
                "INVALID_ARGUMENT",
                "The input token count (250000) exceeds the maximum number of tokens allowed (1048576).",
            ),
            "500": (500, "INTERNAL", "An internal error has occurred."),
            "529": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        }[kind]
        error: dict[str, Any] = {"code": status, "message": message, "status": code}
        if kind == "401":
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ]
        return status, _retry_headers(kind, retry_after), [{"error": error}]


class _Mistral(_OpenAI):
    """Mistral: usage on the last content chunk (which carries finish_reason); 422 for OpenAI-only fields."""

    chat_path = "/v1/chat/completions"
    models_path = "/v1/models"
    forbidden = ("stream_options", "max_completion_tokens", "user")

    def check(self, headers: dict[str, str], body: Any) -> _Error | None:
        fields = [name for name in self.forbidden if isinstance(body, dict) and name in body]
        if not fields:
            return None
        detail = [
            {
                "type": "extra_forbidden",
                "loc": ["body", name],
                "msg": "Extra inputs are not permitted",
                "input": body[name],
            }
            for name in fields
        ]
        return (
            422,
            {},
            {
                "object": "error",
                "message": {"detail": detail},
                "detail": detail,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            },
        )

    def error(self, kind: str, model: str, retry_after: float | str | None) -> _Error:
        if kind == "401":
            return 401, {}, {"message": "Unauthorized", "request_id": "fake"}
        status, error_type, code, message = {
            "429": (429, "rate_limited", "1300", "Requests rate limit exceeded"),
            "404": (404, "invalid_model", "1500", f"Invalid model: {model}"),
            "400_context": (
                400,
                "invalid_request_message_error",
                "3051",
                "Prompt contains 250000 tokens and 0 draft tokens, "
                "too large for model with 131072 maximum context length",
            ),
            "500": (500, "internal_server_error", "1000", "Internal server error"),
            "529": (529, "service_overloaded", "1000", "Service overloaded"),
        }[kind]
        body = {"object": "error", "message": message, "type": error_type, "param": None, "code": code}
        return status, _retry_headers(kind, retry_after), body

    def usage(self, plan: _Plan) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": plan.input_tokens,
            "total_tokens": plan.input_tokens + plan.output_tokens,
            "completion_tokens": plan.output_tokens,
        }
        if plan.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": plan.cached_tokens}
        return usage

    def chunk(self, plan: _Plan, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        chunk: dict[str, Any] = {
            "id": "cmpl-fake",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": plan.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return _sse(_dumps(chunk | extra))

    def head(self, plan: _Plan) -> list[bytes]:
        return [self.chunk(plan, {"role": "assistant", "content": ""})]

    def delta(self, plan: _Plan, index: int) -> bytes:
        if index < len(plan.pieces) - 1:
            return self.chunk(plan, {"content": plan.pieces[index]})
        return self.chunk(
            plan, {"content": plan.pieces[index]}, self.stop_reason(plan.stop), usage=self.usage(plan)
        )

    def tail(self, plan: _Plan) -> list[bytes]:
        return [_sse("[DONE]")]

    def complete(self, plan: _Plan) -> Any:
        message = {"role": "assistant", "tool_calls": None, "content": plan.text}
        return {
            "id": "cmpl-fake",
            "object": "chat.completion",
            "model": plan.model,
            "usage": self.usage(plan),
            "created": _CREATED,
            "choices": [{"index": 0, "finish_reason": self.stop_reason(plan.stop), "message": message}],
        }


_Dialect = _Anthropic | _OpenAI
_DIALECTS: dict[str, _Dialect] = {
    "anthropic": _Anthropic(),
    "openai": _OpenAI(),
    "moonshot": _Moonshot(),
    "gemini": _Gemini(),
    "mistral": _Mistral(),
    "ollama": _OpenAI(key_required=False),
}


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _retry_headers(kind: str, retry_after: float | str | None) -> dict[str, str]:
    if kind != "429":
        return {}
    value = retry_after if retry_after is not None else 1
    return {"retry-after": f"{value:g}" if isinstance(value, float) else str(value)}


# --- The HTTP server ------------------------------------------------------------------------------------


class _Dropped(Exception):
    """The client went away, or the fake is stopping: stop writing."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real APIs
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            _serve(self, self.server.fake)
        except (_Dropped, OSError):
            self.close_connection = True

    # -- small writers used by _serve --

    def read_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        text = raw.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = _dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """Close the socket without finishing the response: the client sees an incomplete body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _serve(handler: _Handler, fake: FakeProvider) -> None:
    flavor, _, _ = handler.path.lstrip("/").partition("/")
    body = handler.read_body()
    headers = {name.lower(): value for name, value in handler.headers.items()}
    fake._record(RecordedRequest(flavor, handler.command, handler.path, headers, body, time.monotonic()))
    dialect = _DIALECTS.get(flavor)
    route = handler.path.split("?")[0][len(_PREFIXES.get(flavor, "")) :]
    if dialect is None:
        handler.send_json(404, {"error": {"message": f"no flavor {flavor!r}", "type": "not_found"}})
        return
    key = dialect.key(headers)
    if dialect.key_required and (key is None or key == BAD_KEY):
        handler.send_json(*_reordered(dialect.error("401", "", None)))
        return
    if handler.command == "GET" and route == dialect.models_path:
        handler.send_json(200, dialect.models())
        return
    if handler.command != "POST" or route != dialect.chat_path:
        handler.send_json(
            404, {"error": {"message": f"no route {handler.command} {handler.path}", "type": "not_found"}}
        )
        return
    if not isinstance(body, dict):
        handler.send_json(
            400, {"error": {"message": "body must be a JSON object", "type": "invalid_request_error"}}
        )
        return
    invalid = dialect.check(headers, body)
    if invalid is not None:
        handler.send_json(*_reordered(invalid))
        return
    _answer(handler, fake, dialect, flavor, body, fake._next_behaviour(flavor))


def _reordered(error: _Error) -> tuple[int, Any, dict[str, str]]:
    status, headers, body = error
    return status, body, headers


def _answer(
    handler: _Handler,
    fake: FakeProvider,
    dialect: _Dialect,
    flavor: str,
    body: dict[str, Any],
    behaviour: Behaviour,
) -> None:
    stream = bool(body.get("stream"))
    if isinstance(behaviour, Reply):
        if behaviour.hold is not None:
            behaviour.hold.wait(60)
        _reply(handler, fake, dialect, _plan(flavor, body, behaviour), stream)
        return
    kind = behaviour.kind
    model = str(body.get("model"))
    if kind in ("429", "500", "529", "401", "404", "400_context"):
        status, headers, error = dialect.error(kind, model, behaviour.retry_after)
        if behaviour.message is not None:
            _say_instead(error, behaviour.message)
        handler.send_json(status, error, headers)
    elif kind == "slow":
        delay = behaviour.seconds if behaviour.seconds is not None else 0.1
        _reply(handler, fake, dialect, _plan(flavor, body, Reply(chunk_delay=delay)), stream)
    elif kind == "silent":
        fake._stopping.wait()
        handler.drop()
    elif kind == "headers":
        _headers_then_silence(handler, fake, dialect, _plan(flavor, body, Reply()), stream)
    elif kind == "hang" and (behaviour.after_chunks == 0 or not stream):
        fake._stopping.wait(behaviour.seconds if behaviour.seconds is not None else 3600)
        handler.drop()
    elif not stream:
        _misbehave_whole(handler, dialect, kind, model)
    else:
        _misbehave_stream(handler, fake, dialect, _plan(flavor, body, Reply()), behaviour)


def _say_instead(error: Any, message: str) -> None:
    """Put `message` where the flavor's error body carries its message (top level, or under "error")."""
    holder = error["error"] if isinstance(error.get("error"), dict) else error
    holder["message"] = message


def _reply(handler: _Handler, fake: FakeProvider, dialect: _Dialect, plan: _Plan, stream: bool) -> None:
    if not stream:
        if plan.delay:
            _pause(fake, plan.delay * len(plan.pieces))
        handler.send_json(200, dialect.complete(plan))
        return
    handler.start_stream()
    for frame in dialect.head(plan):
        handler.send_chunk(frame)
    for index in range(len(plan.pieces)):
        _pause(fake, plan.delay)
        handler.send_chunk(dialect.delta(plan, index))
    for frame in dialect.tail(plan):
        handler.send_chunk(frame)
    handler.end_stream()


def _headers_then_silence(handler: _Handler, fake: FakeProvider, dialect: _Dialect, plan: _Plan, stream: bool) -> None:
    if stream:
        handler.start_stream()
        for frame in dialect.head(plan):
            handler.send_chunk(frame)
    else:
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", "100")
        handler.end_headers()
    handler.wfile.flush()
    fake._stopping.wait()
    handler.drop()


def _misbehave_stream(
    handler: _Handler, fake: FakeProvider, dialect: _Dialect, plan: _Plan, fault: Fault
) -> None:
    handler.start_stream()
    for frame in dialect.head(plan):
        handler.send_chunk(frame)
    for index in range(min(fault.after_chunks, len(plan.pieces))):
        handler.send_chunk(dialect.delta(plan, index))
    if fault.kind == "hang":
        fake._stopping.wait(fault.seconds if fault.seconds is not None else 3600)
        handler.drop()
    elif fault.kind == "drop":
        handler.drop()
    elif fault.kind == "cut":
        handler.end_stream()
    else:
        handler.send_chunk(dialect.error_event() if fault.kind == "error_event" else dialect.malformed())
        handler.end_stream()


def _misbehave_whole(handler: _Handler, dialect: _Dialect, kind: str, model: str) -> None:
    """Non-streaming forms: drop before answering, a body that is not JSON, an error for an error event."""
    if kind in ("drop", "cut"):
        handler.drop()
    elif kind == "malformed":
        payload = b'{"id": "broken", "choices": ['
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    else:  # error_event: what the provider says in a status instead
        handler.send_json(
            *_reordered(dialect.error("529" if isinstance(dialect, _Anthropic) else "500", model, None))
        )


def _pause(fake: FakeProvider, seconds: float) -> None:
    if seconds > 0 and fake._stopping.wait(seconds):
        raise _Dropped


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging handler must never keep the process alive
    block_on_close = False  # and server_close() must not wait for one
    allow_reuse_address = True

    def __init__(self, fake: FakeProvider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # clients hanging up mid-reply is business as usual here
        super().handle_error(request, client_address)


# --- The public object ----------------------------------------------------------------------------------


class FakeProvider:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Behaviour]] = {flavor: deque() for flavor in FLAVORS}
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeProvider:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-provider",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging and slow requests are cut off, so this returns promptly."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake provider is not running")
        return int(self._server.server_address[1])

    def base_url(self, flavor: str) -> str:
        """The base URL in the form that flavor's SDK takes (Anthropic and Mistral without /v1)."""
        return f"http://127.0.0.1:{self.port}{_PREFIXES[_known(flavor)]}"

    def script(self, flavor: str, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queues[_known(flavor)].extend(behaviours)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, flavor: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.flavor == flavor]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_behaviour(self, flavor: str) -> Behaviour:
        with self._lock:
            queue = self._queues[flavor]
            return queue.popleft() if queue else Reply()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _known(flavor: str) -> str:
    if flavor not in _PREFIXES:
        raise ValueError(f"unknown flavor {flavor!r}; expected one of {', '.join(FLAVORS)}")
    return flavor


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released), for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A running FakeProvider for one test, stopped afterwards."""
    with FakeProvider() as fake:
        yield fake
