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

from routecli.errors import BudgetError
from routecli.ledger.admission import Admission
from routecli.ledger.store import Ledger, Row
from routecli.ledger.writeahead import IN_FLIGHT

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


# --- the admission itself, on one ledger (in this process) -----------------------------------------------------


def _row(attempt_id: str, cost: str, status: str = IN_FLIGHT) -> Row:
    return Row(
        ts=time.time(), request_id=attempt_id, command="ask", task="chat", profile="balanced", alias="claude-haiku",
        provider="anthropic", model_id="m", reported_model_id=None, chain_position=0, try_number=0, status=status,
        error_kind=None, error=None, input_tokens=2, output_tokens=200, cached_input_tokens=0, cache_write_tokens=0,
        reasoning_tokens=0, usage_estimated=status == IN_FLIGHT, cost_usd=Decimal(cost), price_source="test",
        first_token_s=None, total_s=None, reason="test", attempt_id=attempt_id,
    )


def _ids(ledger: Ledger) -> list[str]:
    return [r[0] for r in ledger.query("SELECT attempt_id FROM attempts ORDER BY id")]


def test_one_after_another_the_daily_budget_admits_two_of_forty_cents(tmp_path):
    """The stranger's numbers: per_day $1.00, each call's worst case $0.40. The refusal names what is spent,
    what is in flight and the budget; the refused row is not written, and the ledger takes the next write."""
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.write([_row("done", "0.40", status="ok")])
        admit = Admission(Decimal("0.40"), per_day=Decimal(1), per_month=None)
        ledger.write([_row("running", "0.40")], admit.check)  # another process's call, still in flight
        with pytest.raises(BudgetError) as refused:
            ledger.write([_row("third", "0.40")], admit.check)
        assert refused.value.exit_code == 6
        assert refused.value.message == (
            "refused by the daily budget of $1.00: $0.40 spent, $0.40 in calls still in flight, and this call may "
            "cost $0.4000"
        )
        ledger.write([_row("small", "0.20")], Admission(Decimal("0.20"), Decimal(1), None).check)  # still fits
        assert _ids(ledger) == ["done", "running", "small"]


def test_the_monthly_budget_is_checked_too_and_no_budget_admits_everything(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.write([_row("a", "3")])
        with pytest.raises(BudgetError, match=r"^refused by the monthly budget of \$5.00: \$0 spent, \$3.00 in"):
            ledger.write([_row("b", "3")], Admission(Decimal(3), per_day=None, per_month=Decimal(5)).check)
        none = Admission(Decimal(3), per_day=None, per_month=None)
        assert not none.wanted()
        ledger.write([_row("c", "3")], none.check)
        assert _ids(ledger) == ["a", "c"]


def test_a_ledger_that_cannot_be_written_falls_back_to_the_spend_read_at_start_and_says_so_once(
    route, fake_provider, tmp_path
):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    keys = {k: v for k, v in provider_env(fake_provider).items() if k.startswith(("ANTHROPIC_", "MISTRAL_"))}
    fake_provider.script("anthropic", Reply(text=""))  # an empty reply: a second call, to mistral-medium
    fake_provider.script("mistral", Reply(text="the reply"))
    result = route(*ASK, env={**keys, "ROUTE_HOME": str(blocker)})  # the default policy has a daily budget
    assert result.returncode == 8 and result.stdout == "the reply\n", result.stderr  # rows kept pending
    said = "the ledger cannot be written: budgets were checked against the spend read at start ($0 today, $0 this"
    assert result.stderr.count(said) == 1, result.stderr
