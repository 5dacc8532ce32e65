"""One very long streamed reply (issue: 10 MB in 20,000 SSE events took 89 s): the reply is gathered in time
linear in its length, and arrives whole on stdout and in the history."""

from __future__ import annotations

import time

import pytest
from conftest import provider_env
from fakeprovider import Reply

# A real process: each delta copied the whole reply so far, and the copies' fresh memory maps made it slow (in
# pytest's own process the allocator had learned to keep them, and hid it). Before the fix this reply took
# ~30 s; after, ~1.5 s. The bound is eight times what a loaded two-core machine needs.
MEGABYTES = 6
EVENTS = 12_000
GENEROUS_SECONDS = 12.0


@pytest.mark.process
def test_a_long_reply_in_many_events_is_gathered_in_linear_time(route, route_process, fake_provider):
    text = "".join(f"line {n:07d} of a very long reply, streamed piece by piece.\n" for n in range(MEGABYTES * 16_500))
    fake_provider.script("anthropic", Reply(text=text, chunks=EVENTS, output_tokens=1000))
    started = time.monotonic()
    result = route_process("ask", "hi", "-m", "claude-haiku", env=provider_env(fake_provider))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout == text
    assert elapsed < GENEROUS_SECONDS, f"{len(text) / 1e6:.1f} MB in {EVENTS} events took {elapsed:.1f} s"
    (kept,) = route("log", "--json").json()
    shown = route("log", "show", kept["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert shown.json()["reply"] == text
