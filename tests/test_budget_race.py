"""Budgets hold when many `route ask` run at once on one machine: each attempt is admitted in the SQLite transaction
that writes it ahead (ledger/admission.py), so the spend every process read at start cannot let them all through."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Reply

RUNS = 10
# "say hi" --max-tokens 200 (the default policy): claude-haiku first, then mistral-medium. Worst cases:
HAIKU_WORST = Decimal("0.0001002")
MEDIUM_WORST = Decimal("0.001503")
ASK = ("ask", "say hi", "--max-tokens", "200")


def _rows(home: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(home / "data" / "ledger.sqlite3") as conn:
        return conn.execute("SELECT alias, status, cost_usd FROM attempts ORDER BY id").fetchall()


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.process
def test_ten_parallel_asks_never_cross_the_daily_budget(home, fake_provider):
    """Every run reads the spend before any of them writes its second call ahead: a barrier in the fake holds
    each first call (claude-haiku) until all ten are in flight, then answers it empty, so each run falls back to
    mistral-medium. Only the ledger's check as that call is written ahead can stop the ten (about 2-3 fit)."""
    budget = HAIKU_WORST * RUNS + MEDIUM_WORST * Decimal("2.5")
    policy = home / "budget.yaml"
    policy.write_text(f"budgets:\n  per_day: {budget}\n  on_exceed: refuse\n", encoding="utf-8")
    barrier = threading.Event()
    fake_provider.script("anthropic", *[Reply(text="", input_tokens=2, output_tokens=0, hold=barrier)] * RUNS)
    fake_provider.script("mistral", *[Reply(text="hi there", input_tokens=2, output_tokens=200)] * RUNS)
    keys = {k: v for k, v in provider_env(fake_provider).items() if k.startswith(("ANTHROPIC_", "MISTRAL_"))}
    env = {**_clean_env(home), **keys}
    command = [sys.executable, "-m", "routecli", *ASK, "--policy", str(policy)]
    procs = [
        subprocess.Popen(command, env=env, cwd=home.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(RUNS)
    ]
    try:
        _wait_for(lambda: len(fake_provider.requests_for("anthropic")) == RUNS or any(p.poll() for p in procs))
    finally:
        barrier.set()
    outputs = [p.communicate(timeout=60) for p in procs]
    results = [(p.returncode, out.decode(), err.decode()) for p, (out, err) in zip(procs, outputs, strict=True)]

    answered = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] == 6]
    assert len(answered) + len(refused) == RUNS, [r for r in results if r[0] not in (0, 6)]
    assert all(r[1].strip() == "hi there" for r in answered)
    assert all(r[1] == "" and "refused by the daily budget" in r[2] and "in calls still in flight" in r[2]
               for r in refused), refused[:1]
    assert 2 <= len(answered) <= 3, len(answered)
    assert len(fake_provider.requests_for("mistral")) == len(answered)  # a refused call was never sent

    rows = _rows(home)
    assert len(rows) == RUNS + len(answered)  # every call made, recorded once; the refused ones never written
    assert {status for _, status, _ in rows} == {"validation_failed", "ok"}  # nothing left in flight
    spent = sum(Decimal(cost) for _, _, cost in rows if cost is not None)
    assert spent <= budget, (spent, budget)
