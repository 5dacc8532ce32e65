"""A provider that accepts the connection and never answers (issue 9, point 11) is left quickly on every wire:
"no response headers" has its own short timeout (retried once), "no first token" the model's own (long for a
model that reasons first, never retried), and a terminal shows a live "waiting for MODEL (12 s)" line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Fault, Reply

from routecli.ui import waiting

# One model per wire protocol, none of them one that reasons before its first token (those wait longer).
PER_WIRE = [("anthropic", "claude-haiku"), ("moonshot", "kimi-k2"), ("mistral", "mistral-small")]
QUICK = "defaults:\n  timeouts: {connect: 2, headers: 1, first_token: 2, idle: 2}\n"
LONG_FIRST_TOKEN = "defaults:\n  timeouts: {connect: 2, headers: 1, first_token: 8, idle: 2}\n"
SHIPPED_PROMISE = 30.0  # seconds: a silent provider is left within this by default, with -m too


def _ask_quickly(route, fake, tmp_path, alias: str, timeouts: str = QUICK):
    policy = tmp_path / "quick.yaml"
    policy.write_text(timeouts)
    return route("ask", "hello there!", "-m", alias, "--json", "--policy", str(policy), env=provider_env(fake))


def _attempts(result) -> list[tuple[str, str]]:
    return [(a["status"], a["error_kind"]) for a in json.loads(result.stdout)["attempts"]]


@pytest.mark.parametrize(("flavor", "alias"), PER_WIRE)
def test_a_silent_provider_is_left_after_the_headers_timeout_tried_twice(route, fake_provider, tmp_path, flavor, alias):
    fake_provider.script(flavor, *[Fault("silent")] * 3)
    started = time.monotonic()
    result = _ask_quickly(route, fake_provider, tmp_path, alias, LONG_FIRST_TOKEN)
    assert time.monotonic() - started < 12  # 1 s, 0.5 s back-off, 1 s: not first_token's 8 s
    assert result.returncode == 7, result.stderr
    assert _attempts(result) == [("retry", "no_response"), ("error", "no_response")]
    assert all(a["total_s"] < 4 for a in json.loads(result.stdout)["attempts"])  # the headers timeout, not 8 s
    assert "no response within 1s" in result.stderr


@pytest.mark.parametrize(("flavor", "alias"), PER_WIRE)
def test_headers_then_silence_is_left_after_first_token_without_a_retry(route, fake_provider, tmp_path, flavor, alias):
    fake_provider.script(flavor, *[Fault("headers")] * 3)
    started = time.monotonic()
    result = _ask_quickly(route, fake_provider, tmp_path, alias)
    assert time.monotonic() - started < 10
    assert result.returncode == 7, result.stderr
    assert _attempts(result) == [("error", "timeout")]  # the model had its whole first-token time: no retry
    assert "no text within 2s" in result.stderr
    assert len(fake_provider.requests_for(flavor)) == 1


def test_without_streaming_the_headers_come_with_the_reply_so_only_first_token_applies(route, fake_provider, tmp_path):
    policy = tmp_path / "quick.yaml"
    policy.write_text(QUICK)
    fake_provider.script("anthropic", Reply(text="a slow whole reply", chunks=3, chunk_delay=0.5))  # 1.5 s > headers
    result = route("ask", "hello there!", "-m", "claude-haiku", "--no-stream", "--policy", str(policy),
                   env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a slow whole reply\n"


def test_a_silent_provider_falls_back_to_the_next_model(route, fake_provider, tmp_path):
    policy = tmp_path / "quick.yaml"
    policy.write_text(QUICK)
    fake_provider.script("anthropic", Fault("silent"))
    result = route("ask", "hello there!", "--policy", str(policy), env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert "claude-haiku failed (no response within 1s); falling back to" in result.stderr
    assert len(fake_provider.requests_for("anthropic")) == 1  # with a fallback waiting, no retry


@pytest.mark.process
@pytest.mark.parametrize("fault", ["silent", "headers"])
def test_with_the_shipped_timeouts_a_silent_provider_is_left_within_30s_on_every_wire(home, fake_provider, fault):
    """The promise itself, with the default policy and a pinned model (no fallback): all three wires at once."""
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    for flavor, _ in PER_WIRE:
        fake_provider.script(flavor, *[Fault(fault)] * 3)
    procs = []
    for _, alias in PER_WIRE:
        args = [sys.executable, "-m", "routecli", "ask", "hello there!", "-m", alias]
        proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append((time.monotonic(), proc))
    for started, proc in procs:
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
        assert proc.returncode == 7, err.decode()
        assert took < SHIPPED_PROMISE, (proc.args, took)
        assert (b"no response within 10s" if fault == "silent" else b"no text within 20s") in err


def test_the_waiting_line_counts_seconds_and_is_wiped():
    stream = io.StringIO()
    line = waiting.WaitingLine(stream, after=0.05, every=0.05)
    line.start("claude-haiku")
    deadline = time.monotonic() + 10
    while "route: waiting for claude-haiku (" not in stream.getvalue():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    line.stop()
    shown = stream.getvalue()
    assert shown.endswith("\r\x1b[K")  # nothing of it stays on the screen
    time.sleep(0.2)
    assert stream.getvalue() == shown  # and nothing is drawn after it stopped


def test_a_slow_first_token_shows_the_waiting_line_on_a_terminal_only(route, fake_provider, monkeypatch):
    fake_provider.script("anthropic", Reply(text="Lima.", chunks=1, chunk_delay=1.5), Reply(text="Lima.", chunks=1))
    monkeypatch.setattr(waiting, "SHOW_AFTER", 0.1)
    monkeypatch.setattr(waiting, "REDRAW_EVERY", 0.1)
    monkeypatch.setattr("routecli.run.request._stderr_is_terminal", lambda: True)
    result = route("ask", "hello there!", env=provider_env(fake_provider))
    assert result.returncode == 0 and result.stdout == "Lima.\n"
    assert "route: waiting for claude-haiku (" in result.stderr
    monkeypatch.setattr("routecli.run.request._stderr_is_terminal", lambda: False)
    piped = route("ask", "hello there!", env=provider_env(fake_provider))
    assert "waiting for" not in piped.stderr
