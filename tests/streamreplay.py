"""Replay a recorded reply (tests/data/streams/<wire>/*.http, written by scripts/record_streams.py) to an
adapter, in place of the network: the adapters' http client is swapped for one whose transport answers with
the recording, its body cut into the chunks a test chooses. Both transports (raw and sdk) ask the same
`http_client` for their client, so both read exactly the same bytes."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from routecli.providers.base import Timeouts
from routecli.providers.guard import Watch
from routecli.providers.http import client_timeout

STREAMS = Path(__file__).resolve().parent / "data" / "streams"


@dataclass(frozen=True)
class Recording:
    name: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def stream(self) -> bool:
        return self.headers.get("x-recording-request") != "json"

    @property
    def ends(self) -> str:
        return self.headers.get("x-recording-ends", "")


def load(path: Path) -> Recording:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    status_line, *lines = head.decode().split("\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return Recording(f"{path.parent.name}/{path.stem}", int(status_line.split()[1]), headers, body)


def recordings(wire: str) -> list[Path]:
    return sorted((STREAMS / wire).glob("*.http"))


def cut(body: bytes, seed: int | None) -> list[bytes]:
    """`body` whole (seed None), one byte at a time (seed 0), or cut at random points."""
    if seed is None or not body:
        return [body]
    if seed == 0:
        return [body[i : i + 1] for i in range(len(body))]
    rng = random.Random(seed)
    points = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(1, 40))))
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


class _Body(httpx2.SyncByteStream):
    def __init__(self, chunks: list[bytes], ends: str, stop: threading.Event) -> None:
        self.chunks, self.ends, self.stop = chunks, ends, stop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.ends == "hang":
            self.stop.wait(5)  # until the caller gives up (it aborts the watch), as a silent server
            raise httpx2.ReadError("connection closed while waiting")
        if self.ends == "drop":
            raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")


def client_factory(recording: Recording, seed: int | None) -> Any:
    """A stand-in for `routecli.providers.http_client` that answers one POST with `recording`."""

    def http_client(timeouts: Timeouts, watch: Watch) -> httpx2.Client:
        stop = threading.Event()
        watch.on_abort(stop.set)

        def answer(request: httpx2.Request) -> httpx2.Response:
            assert request.method == "POST"
            headers = {k: v for k, v in recording.headers.items() if not k.startswith("x-recording-")}
            body = _Body(cut(recording.body, seed), recording.ends, stop)
            return httpx2.Response(recording.status, headers=headers, stream=body, request=request)

        def on_response(response: httpx2.Response) -> None:
            watch.headers_arrived()

        return httpx2.Client(
            transport=httpx2.MockTransport(answer),
            timeout=client_timeout(timeouts),
            event_hooks={"response": [on_response]},
        )

    return http_client
