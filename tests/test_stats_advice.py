"""`route stats` advises a lower min_tier only when replaying the recorded decisions shows it would change them,
and the model that would take those requests has earned it as a first choice; the numbers are shown
(issue 9, point 3)."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from pathlib import Path

from conftest import provider_env

from routecli.ledger.facts import DecisionFacts
from routecli.ledger.record import record
from routecli.ledger.store import _MIGRATIONS, Row
from routecli.ledger.target import LedgerTarget
from routecli.run.advice import MIN_FIRST_CHOICE_CALLS

HAIKU_SUMMARIZES = "tasks:\n  summarize:\n    candidates: [mistral-large, claude-haiku]\n"


def _row(n: int, task: str, alias: str, provider: str, position: int = 0, status: str = "ok", request: str = "",
         complexity: int | None = 4) -> Row:
    return Row(
        ts=time.time() - 3600 + n,
        request_id=request or f"{task}-{alias}-{n}",
        command="ask",
        task=task,
        profile="balanced",
        alias=alias,
        provider=provider,
        model_id=alias,
        reported_model_id=None,
        chain_position=position,
        try_number=0,
        status=status,
        error_kind=None,
        error=None,
        input_tokens=800,
        output_tokens=200,
        cached_input_tokens=0,
        cache_write_tokens=0,
        reasoning_tokens=0,
        usage_estimated=False,
        cost_usd=Decimal("0.001"),
        price_source="test",
        first_token_s=0.3,
        total_s=1.0 + (n % 3) * 0.1,
        reason="seed",
        facts=None if complexity is None else DecisionFacts(complexity, 800, 3200, ""),
    )


def _ledger(home: Path) -> Path:
    return home / "data" / "ledger.sqlite3"


def _haiku_first_choice(home: Path, calls: int, ok: int) -> None:
    """claude-haiku as the chosen model of chat requests: `ok` of `calls` succeeded."""
    rows = [_row(n, "chat", "claude-haiku", "anthropic", status="ok" if n < ok else "error") for n in range(calls)]
    record(LedgerTarget(_ledger(home)), rows)


def _summaries_by_mistral_large(home: Path, count: int = 10) -> None:
    record(LedgerTarget(_ledger(home)), [_row(n, "summarize", "mistral-large", "mistral") for n in range(count)])


def test_an_ask_records_the_decisions_complexity(route, home, fake_provider):
    env = provider_env(fake_provider)
    prompt = "Prove that the square root of two is irrational, step by step."
    level = route("explain", prompt, "--json", env=env).json()["complexity"]
    assert route("ask", prompt, env=env).returncode == 0
    conn = sqlite3.connect(_ledger(home))
    assert [row[0] for row in conn.execute("SELECT complexity FROM attempts")] == [level]


def test_no_advice_for_a_fallback_that_fails_half_its_calls_and_would_change_nothing(route, home):
    """The case of the issue: claude-haiku took summaries only as a fallback, 12 of 25 ok, and lowering
    summarize's min_tier would change no decision (it is not a summarize candidate)."""
    rows = []
    for n in range(25):
        rows.append(_row(n, "summarize", "mistral-large", "mistral", 0, "fallback", f"s{n}"))
        rows.append(_row(n, "summarize", "claude-haiku", "anthropic", 1, "ok" if n < 12 else "error", f"s{n}"))
    record(LedgerTarget(_ledger(home)), rows)
    _summaries_by_mistral_large(home, 10)
    _haiku_first_choice(home, 30, 30)  # an excellent record as chat's first choice does not change that
    data = route("stats", "--json").json()
    assert not any("min_tier" in line for line in data["recommendations"]), data["recommendations"]
    assert "min_tier" not in route("stats").stdout
    assert data["tier_advice"] == []


def test_advice_when_a_lower_min_tier_changes_decisions_and_the_model_earned_it(route, home, tmp_path):
    (tmp_path / "mine.yaml").write_text(HAIKU_SUMMARIZES)
    _haiku_first_choice(home, 30, 30)
    _summaries_by_mistral_large(home, 10)
    data = route("stats", "--policy", "mine.yaml", "--json").json()
    assert data["tier_advice"] == [
        {
            "task": "summarize",
            "min_tier": 3,
            "suggested_min_tier": 2,
            "alias": "claude-haiku",
            "requests_replayed": 10,
            "requests_changed": 10,
            "first_choice_calls": 30,
            "first_choice_success_rate": 1.0,
            "first_choice_total_p50_s": 1.1,
        }
    ]
    text = " ".join(route("stats", "--policy", "mine.yaml", env={"COLUMNS": "80"}).stdout.split())
    assert (
        "for summarize, min_tier 2 (now 3) would have sent 10 of 10 recorded requests to claude-haiku instead; "
        "as first choice it made 30 calls, 100% ok, p50 1.1s"
    ) in text, text


def test_no_advice_when_the_model_fails_too_often_as_first_choice(route, home, tmp_path):
    (tmp_path / "mine.yaml").write_text(HAIKU_SUMMARIZES)
    _haiku_first_choice(home, 25, 12)  # 48%
    _summaries_by_mistral_large(home, 10)
    assert route("stats", "--policy", "mine.yaml", "--json").json()["tier_advice"] == []


def test_no_advice_without_enough_first_choice_calls(route, home, tmp_path):
    (tmp_path / "mine.yaml").write_text(HAIKU_SUMMARIZES)
    _haiku_first_choice(home, MIN_FIRST_CHOICE_CALLS - 1, MIN_FIRST_CHOICE_CALLS - 1)
    _summaries_by_mistral_large(home, 10)
    assert route("stats", "--policy", "mine.yaml", "--json").json()["tier_advice"] == []


def test_calls_as_a_fallback_are_not_first_choice_calls(route, home, tmp_path):
    (tmp_path / "mine.yaml").write_text(HAIKU_SUMMARIZES)
    rows = []
    for n in range(30):  # 30 successful calls, all after another model failed
        rows.append(_row(n, "chat", "mistral-medium", "mistral", 0, "fallback", f"c{n}"))
        rows.append(_row(n, "chat", "claude-haiku", "anthropic", 1, "ok", f"c{n}"))
    record(LedgerTarget(_ledger(home)), rows)
    _summaries_by_mistral_large(home, 10)
    assert route("stats", "--policy", "mine.yaml", "--json").json()["tier_advice"] == []


def test_requests_recorded_before_complexity_was_are_not_replayed(route, home, tmp_path):
    (tmp_path / "mine.yaml").write_text(HAIKU_SUMMARIZES)
    _haiku_first_choice(home, 30, 30)
    rows = [_row(n, "summarize", "mistral-large", "mistral", complexity=None) for n in range(10)]
    record(LedgerTarget(_ledger(home)), rows)
    assert route("stats", "--policy", "mine.yaml", "--json").json()["tier_advice"] == []


def test_stats_reads_an_older_ledger_without_the_complexity_column(route, home):
    ledger = _ledger(home)
    ledger.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(ledger)
    for statement in _MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO attempts (ts, day, request_id, command, task, alias, provider, model_id, chain_position, "
        f"try_number, status) VALUES ({time.time()}, '2026-01-01', 'old', 'ask', 'chat', 'claude-haiku', "
        "'anthropic', 'x', 0, 0, 'ok')"
    )
    conn.commit()
    conn.close()
    result = route("stats", "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["models"][0]["alias"] == "claude-haiku" and result.json()["tier_advice"] == []


def test_only_the_most_recent_requests_of_a_task_are_replayed(route, home, tmp_path, monkeypatch):
    monkeypatch.setattr("routecli.run.advice.REPLAY_LIMIT", 4)  # the route fixture runs in this process
    (tmp_path / "mine.yaml").write_text(HAIKU_SUMMARIZES)
    _haiku_first_choice(home, 30, 30)
    _summaries_by_mistral_large(home, 10)
    [advice] = route("stats", "--policy", "mine.yaml", "--json").json()["tier_advice"]
    assert advice["requests_replayed"] == 4 and advice["requests_changed"] == 4


def test_a_broken_policy_leaves_the_numbers_and_says_why_there_is_no_advice(route, home):
    _haiku_first_choice(home, 30, 30)
    (home / "config").mkdir()
    (home / "config" / "routes.yaml").write_text("tasks: [unclosed\n")
    result = route("stats", "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["models"][0]["calls"] == 30 and result.json()["tier_advice"] == []
    assert result.stderr.startswith("route: no min_tier advice:") and "routes.yaml:" in result.stderr
