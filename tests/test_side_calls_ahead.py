"""Side calls are written ahead like every main attempt: the safety reviewer's and the model classifier's calls are
in the ledger (in flight, at their worst case) before their requests leave, so a SIGKILL during one leaves it there
for `route costs` to report as unsettled, and a normal end settles the same row in place."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Fault, Reply
from test_budget_late_downgrade import spent_after_reading
from test_budget_race import _row
from test_model_classifier import ALWAYS, PROMPT
from test_review import ANSWER, PASS, SAFETY

from routecli.ledger.store import Ledger


def _rows(home: Path) -> list[dict]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute("SELECT * FROM attempts ORDER BY id")]


def _start(home: Path, fake, *args: str) -> subprocess.Popen:
    env = {**_clean_env(home), **provider_env(fake)}
    return subprocess.Popen(
        [sys.executable, "-m", "routecli", *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, cwd=home.parent,
    )


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.process
def test_sigkill_mid_review_leaves_the_review_in_flight_at_its_estimate(home, fake_provider, route):
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Fault("hang"))  # the reviewer (gpt) never answers
    proc = _start(home, fake_provider, "ask", SAFETY)
    try:
        _wait_for(lambda: len(fake_provider.requests_for("openai")) == 1 or proc.poll() is not None)
    finally:
        proc.kill()
    proc.communicate(timeout=30)
    rows = _rows(home)
    assert [(row["stage"], row["alias"], row["status"]) for row in rows] == [
        (None, "claude-sonnet", "in_flight"),  # the answer, settled only when the request ends
        ("review", "gpt", "in_flight"),
    ]
    review = rows[1]
    assert review["usage_estimated"] == 1 and review["attempt_id"]
    assert review["output_tokens"] == 400 and Decimal(review["cost_usd"]) > 0  # the verdict's whole reserve
    assert review["request_id"] == rows[0]["request_id"]  # one request, the answer's
    data = route("costs", "--json").json()
    assert data["unsettled"]["calls"] == 2
    assert "2 call(s) unsettled" in route("costs").stdout


def test_a_review_ended_normally_settles_its_row_in_place(route, fake_provider, home):
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text=PASS, input_tokens=900, output_tokens=12))
    assert route("ask", SAFETY, env=provider_env(fake_provider)).returncode == 0
    rows = _rows(home)
    assert [(row["stage"], row["status"], row["usage_estimated"]) for row in rows] == [
        (None, "ok", 0), ("review", "ok", 0)]  # two rows: each written ahead and settled in place
    assert rows[1]["input_tokens"] == 900 and rows[1]["output_tokens"] == 12


def test_a_review_the_budget_no_longer_allows_when_written_ahead_is_not_made(route, fake_provider, home, tmp_path):
    """Another run's call lands while the answer is being written: the review's worst case no longer fits the daily
    budget when it is written ahead, so it is not sent; the reply is printed and the review said unavailable."""
    policy = tmp_path / "budget.yaml"
    policy.write_text("budgets:\n  per_day: 1.00\n  on_exceed: downgrade\n", encoding="utf-8")
    answered = threading.Event()
    fake_provider.script("anthropic", Reply(text=ANSWER, hold=answered))
    fake_provider.script("openai", Reply(text=PASS))

    def another_run() -> None:
        _wait_for(lambda: len(fake_provider.requests_for("anthropic")) == 1)
        with Ledger(home / "data" / "ledger.sqlite3") as ledger:
            ledger.write([_row("another-run", "0.999")])  # in flight, in another process
        answered.set()

    hook = threading.Thread(target=another_run, daemon=True)
    hook.start()
    result = route("ask", SAFETY, "--policy", str(policy), env=provider_env(fake_provider))
    hook.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "reviewer unavailable: not made: refused by the daily budget of $1.00" in result.stderr
    assert not fake_provider.requests_for("openai")  # never sent
    assert [(row["attempt_id"] == "another-run", row["stage"], row["status"]) for row in _rows(home)] == [
        (False, None, "ok"), (True, None, "in_flight")]


@pytest.mark.process
def test_sigkill_while_the_classifier_model_is_asked_leaves_its_row(home, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(ALWAYS)
    fake_provider.script("gemini", Fault("hang"))
    proc = _start(home, fake_provider, "ask", PROMPT, "--policy", str(policy))
    try:
        _wait_for(lambda: len(fake_provider.requests_for("gemini")) == 1 or proc.poll() is not None)
    finally:
        proc.kill()
    proc.communicate(timeout=30)
    (row,) = _rows(home)
    assert (row["stage"], row["alias"], row["status"], row["usage_estimated"]) == (
        "classify", "gemini-flash", "in_flight", 1)
    assert Decimal(row["cost_usd"]) > 0


@pytest.mark.process
def test_sigterm_while_the_classifier_model_is_asked_settles_its_row_and_exits_143(home, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(ALWAYS)
    fake_provider.script("gemini", Fault("hang"))
    proc = _start(home, fake_provider, "ask", PROMPT, "--policy", str(policy))
    try:
        _wait_for(lambda: len(fake_provider.requests_for("gemini")) == 1 or proc.poll() is not None)
    finally:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err.decode()
    assert out == b"" and b"Traceback" not in err and b"internal error" not in err
    (row,) = _rows(home)
    assert (row["stage"], row["status"], row["error"]) == ("classify", "interrupted", "stopped by SIGTERM")


def test_a_classifier_call_the_budget_no_longer_allows_is_not_made(route, fake_provider, home, tmp_path, monkeypatch):
    policy = tmp_path / "p.yaml"
    policy.write_text(ALWAYS + "budgets:\n  per_day: 1.00\n  on_exceed: refuse\n")
    spent_after_reading(monkeypatch, home, "0.9999999")
    result = route("ask", PROMPT, "--policy", str(policy), "--verbose", env=provider_env(fake_provider))
    assert "classifier model not consulted: refused by the daily budget of $1.00" in result.stderr, result.stderr
    assert not fake_provider.requests_for("gemini")
    assert result.returncode == 6  # the answer does not fit either, and refuse says so


@pytest.mark.process
def test_ctrl_c_during_the_review_keeps_the_answer_in_the_history(home, fake_provider, route):
    """The answer was paid for and held back for its review: a stop then keeps it (marked interrupted), not the
    reviewer's empty exchange."""
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Fault("hang"))  # the reviewer (gpt) never answers
    proc = _start(home, fake_provider, "ask", SAFETY)
    try:
        _wait_for(lambda: len(fake_provider.requests_for("openai")) == 1 or proc.poll() is not None)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    (kept,) = route("log", "--json").json()
    assert kept["reply"] == ANSWER and kept["model"] == "claude-sonnet" and kept["status"] == "interrupted", kept
