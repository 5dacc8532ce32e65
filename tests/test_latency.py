"""Honest latency in the ledger: the provider's time counts from the request going out, route's own time
(before sending, and loading an SDK on the sdk transport) is overhead_s."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import provider_env
from fakeprovider import Reply

DELAY = 0.4  # seconds the fake waits before its one text delta


def _last_attempt(home) -> dict:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM attempts ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    return dict(row)


@pytest.mark.process  # the SDK import must be a fresh process's: in-process runs may have imported it already
@pytest.mark.parametrize("transport", ["raw", "sdk"])
def test_provider_time_and_route_overhead_are_apart(route_process, home, fake_provider, transport):
    policy = home / "transport.yaml"
    policy.write_text(f"providers:\n  anthropic:\n    transport: {transport}\n")
    fake_provider.script("anthropic", Reply(chunks=1, chunk_delay=DELAY))
    env = provider_env(fake_provider, ROUTE_POLICY=str(policy))
    result = route_process("ask", "hello there!", "-m", "claude-haiku", env=env)
    assert result.returncode == 0, result.stderr

    row = _last_attempt(home)
    assert 0 <= row["first_byte_s"] < DELAY  # headers come at once; the text after DELAY
    assert DELAY <= row["first_token_s"] <= row["total_s"]
    if transport == "raw":  # nothing local after sending: the provider's time, to a few ms
        assert row["total_s"] < DELAY + 0.15
    assert row["overhead_s"] >= 0
    if transport == "sdk":  # importing the SDK is route's time, not the provider's
        assert row["overhead_s"] > 0.3  # anthropic takes ~0.8 s to import here
