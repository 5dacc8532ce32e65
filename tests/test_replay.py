"""`route replay`: the facts every attempt records (a ledger migration), and the ledger re-decided under another
policy, no model called."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import provider_env

from routecli.ledger.facts import FACT_COLUMNS, FACT_MIGRATION, DecisionFacts
from routecli.ledger.recorded import FACTS_VERSION
from routecli.ledger.store import _MIGRATIONS, SCHEMA_VERSION, Ledger, Row
from routecli.policy.fingerprint import policy_hash
from routecli.policy.load import load_policy

GREETING = "hello there!"  # chat: claude-haiku in the default policy
CHAT_TO_SONNET = "tasks:\n  chat:\n    candidates: [claude-sonnet]\n"
HELLO_IS_REASONING = "classify:\n  rules:\n    - task: reasoning\n      weight: 9\n      patterns: ['hello']\n"


def _ledger(home: Path) -> Path:
    return home / "data" / "ledger.sqlite3"


def _rows(home: Path) -> list[dict]:
    conn = sqlite3.connect(_ledger(home))
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute("SELECT * FROM attempts ORDER BY id")]
    finally:
        conn.close()


def _ask(route, fake_provider, *args: str) -> None:
    result = route("ask", *args, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr


def _replay(route, *args: str) -> dict:
    result = route("replay", "--json", *args)
    assert result.returncode == 0, result.stderr
    return result.json()


def _policy(tmp_path: Path, text: str) -> str:
    path = tmp_path / f"policy-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_migration_is_appended_and_adds_the_fact_columns():
    assert _MIGRATIONS[FACTS_VERSION - 1] is FACT_MIGRATION and FACTS_VERSION <= SCHEMA_VERSION
    assert all(any(column in statement for statement in FACT_MIGRATION) for column in FACT_COLUMNS)


def test_every_attempt_records_the_facts_of_its_decision(route, fake_provider, home):
    _ask(route, fake_provider, GREETING, "-p", "cheap", "--max-tokens", "500", "--max-cost", "0.2")
    _ask(route, fake_provider, GREETING)
    rows = _rows(home)
    assert len(rows) == 2
    flagged, plain = rows
    explain = route("explain", GREETING, "-p", "cheap", "--max-tokens", "500", "--json").json()
    assert flagged["complexity"] == explain["complexity"]
    assert flagged["decision_tokens"] == explain["tokens"]
    assert flagged["input_bytes"] == len(GREETING.encode())
    assert json.loads(flagged["flags"]) == {"profile": "cheap", "max_tokens": 500, "max_cost": "0.2"}
    assert json.loads(plain["flags"]) == {}
    current = load_policy(None, home / "config")
    assert flagged["policy_hash"] == plain["policy_hash"] == policy_hash(current)


def test_replay_under_the_same_policy_changes_nothing(route, fake_provider, home):
    _ask(route, fake_provider, GREETING)
    _ask(route, fake_provider, "write a python function that reverses a list")
    report = _replay(route)
    assert report["recorded_requests"] == report["replayed"] == 2
    assert report["different"] == 0 and report["moves"] == []
    assert report["recorded_under_this_policy"] == 2 and report["rebuilt_from"] == {"facts": 2}
    total = report["total"]
    assert total["priced"] == 2 and total["recorded_usd"] > 0
    assert total["replayed_usd"] == pytest.approx(total["recorded_usd"])
    assert set(report["by_task"]) == {"chat", "code"}


def test_replay_under_a_new_policy_reports_the_changes_and_the_cost(route, fake_provider, home, tmp_path):
    _ask(route, fake_provider, GREETING)
    _ask(route, fake_provider, "write a python function that reverses a list")
    new = _policy(tmp_path, CHAT_TO_SONNET)
    report = _replay(route, "--policy", new)
    assert report["replayed"] == 2 and report["different"] == 1
    assert report["moves"] == [{"from": "claude-haiku", "to": "claude-sonnet", "requests": 1}]
    assert report["recorded_under_this_policy"] == 0
    chat, code = report["by_task"]["chat"], report["by_task"]["code"]
    assert chat["different"] == 1 and chat["replayed_usd"] > chat["recorded_usd"] > 0  # sonnet costs more
    assert code["different"] == 0 and code["difference_usd"] == pytest.approx(0)
    row = next(r for r in _rows(home) if r["task"] == "chat")
    expected = Decimal("3") * row["input_tokens"] / 1_000_000 + Decimal("15") * row["output_tokens"] / 1_000_000
    assert chat["replayed_usd"] == pytest.approx(float(expected), rel=0.5)  # sonnet's rates, the real tokens
    text = route("replay", "--policy", new)
    assert text.returncode == 0 and text.stderr == ""
    assert "would route differently: 1 of 2 (50.0%)" in text.stdout
    assert "claude-haiku" in text.stdout and "-> claude-sonnet" in text.stdout
    assert "chat" in text.stdout and "total" in text.stdout


def test_stored_prompts_are_classified_again(route, fake_provider, home, tmp_path):
    """With --log-prompts the text is re-classified, so a new rule counts; without it the recorded task stands."""
    _ask(route, fake_provider, GREETING, "--log-prompts")
    _ask(route, fake_provider, GREETING)
    report = _replay(route, "--policy", _policy(tmp_path, HELLO_IS_REASONING))
    assert report["rebuilt_from"] == {"text": 1, "facts": 1}
    assert report["different"] == 1
    assert report["moves"][0]["from"] == "claude-haiku" and report["moves"][0]["requests"] == 1
    assert report["by_task"]["chat"]["different"] == 1  # counted under the task it was recorded with


def test_forced_flags_are_replayed(route, fake_provider, home, tmp_path):
    """A pinned model stays pinned; a model the new policy does not know makes the request not replayable."""
    _ask(route, fake_provider, GREETING, "-m", "mistral-medium")
    same = _replay(route, "--policy", _policy(tmp_path, CHAT_TO_SONNET))
    assert same["different"] == 0 and same["replayed"] == 1
    gone = _policy(tmp_path, "models:\n  mistral-medium: {tier: 1}\n")
    assert _replay(route, "--policy", gone)["replayed"] == 1  # still known: fine
    rows = _rows(home)
    conn = sqlite3.connect(_ledger(home))
    conn.execute("UPDATE attempts SET flags = ? WHERE id = ?", (json.dumps({"model": "no-such-model"}), rows[0]["id"]))
    conn.commit()
    conn.close()
    report = _replay(route)
    assert report["replayed"] == 0
    assert any("no-such-model" in reason for reason in report["not_replayed"])


def _row(ts: float, request_id: str, **changes) -> Row:
    values = dict(
        ts=ts, request_id=request_id, command="ask", task="chat", profile="balanced", alias="claude-haiku",
        provider="anthropic", model_id="claude-haiku-4-5", reported_model_id=None, chain_position=0, try_number=0,
        status="ok", error_kind=None, error=None, input_tokens=20, output_tokens=100, cached_input_tokens=0,
        cache_write_tokens=0, reasoning_tokens=0, usage_estimated=False, cost_usd=Decimal("0.000520"),
        price_source="test", first_token_s=0.1, total_s=0.2, reason="test",
    )
    values.update(changes)
    return Row(**values)


def test_rows_recorded_before_the_facts(route, home, tmp_path):
    """Older rows: replayed from their task and reported tokens where those exist (saying so), else counted."""
    now = time.time()
    with Ledger(_ledger(home)) as ledger:
        ledger.write([
            _row(now, "a"),  # no facts: task and tokens
            _row(now, "b", task=None),  # nothing to decide from
            _row(now, "c", prompt="hello there!"),  # stored text: classified again
        ])
    report = _replay(route, "--policy", _policy(tmp_path, CHAT_TO_SONNET))
    assert report["recorded_requests"] == 3 and report["replayed"] == 2
    assert report["rebuilt_from"] == {"approximate": 1, "text": 1}
    assert report["not_replayed"] == {f"recorded before v{FACTS_VERSION}, without task and tokens": 1}
    assert report["different"] == 2
    text = route("replay", "--policy", _policy(tmp_path, CHAT_TO_SONNET)).stdout
    assert f"1 recorded before v{FACTS_VERSION}: replayed from their task and" in text
    assert "not replayable: 1 (recorded before" in text


def test_a_ledger_of_the_previous_schema_is_read_as_it_is_and_migrated_when_written(route, fake_provider, home):
    path = _ledger(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for step in _MIGRATIONS[: FACTS_VERSION - 1]:
        for statement in step:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {FACTS_VERSION - 1}")
    old = _row(time.time(), "old")
    # The old table has no fact columns: insert a row of the old shape by hand.
    conn.execute(
        "INSERT INTO attempts (ts, day, request_id, command, task, alias, provider, model_id, chain_position, "
        "try_number, status, input_tokens, output_tokens, cost_usd, cost_nano) "
        "VALUES (?, '2026-01-01', 'old', 'ask', 'chat', 'claude-haiku', 'anthropic', 'x', 0, 0, 'ok', 20, 100, "
        "'0.00052', 520000)",
        (old.ts,),
    )
    conn.commit()
    conn.close()
    report = _replay(route)  # read-only: the old schema as it is
    assert report["replayed"] == 1 and report["rebuilt_from"] == {"approximate": 1}
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == FACTS_VERSION - 1
    _ask(route, fake_provider, GREETING)  # a write migrates; the old row keeps NULL facts
    rows = _rows(home)
    assert rows[0]["complexity"] is None and rows[1]["complexity"] is not None
    assert _replay(route)["rebuilt_from"] == {"approximate": 1, "facts": 1}


def test_map_reduce_requests_retries_and_since(route, home):
    now = time.time()
    with Ledger(_ledger(home)) as ledger:
        ledger.write([
            _row(now, "mr", stage="map 1/2", task="summarize"),
            _row(now, "mr", stage="reduce final", task="summarize"),
            _row(now, "retry", status="retry", cost_usd=None, output_tokens=None),
            _row(now, "retry", try_number=1, cost_usd=Decimal("0.001")),
            _row(now - 30 * 86400, "old"),
            _row(now, "failed", status="error", cost_usd=None, output_tokens=None),
        ])
    report = _replay(route)
    assert report["recorded_requests"] == 4
    assert report["no_successful_attempt"] == 1 and report["unpriced"] == 0
    assert report["not_replayed"] == {"map-reduce summary (replay re-decides single calls)": 1}
    assert report["total"]["recorded_usd"] == pytest.approx(0.00052 + 0.001)  # ... the old request's included
    recent = _replay(route, "--since", "7d")
    assert recent["recorded_requests"] == 3 and recent["total"]["recorded_usd"] == pytest.approx(0.001)
    assert route("replay", "--since", "7d").stdout.startswith("replayed 2 of 3")
    assert route("replay", "--since", "soon").returncode == 2


def test_no_ledger_a_damaged_one_and_a_bad_policy(route, home, tmp_path):
    empty = route("replay")
    assert empty.returncode == 0 and empty.stdout == "No requests recorded yet.\n"
    assert route("replay", "--since", "7d").stdout == "No requests recorded in this period.\n"
    path = _ledger(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database at all" * 100)
    damaged = route("replay")
    assert damaged.returncode == 0 and "corrupt" in damaged.stdout and "could still be read" in damaged.stdout
    assert path.read_bytes().startswith(b"not a database")  # replay writes nothing
    broken = route("replay", "--policy", _policy(tmp_path, "tasks: [oops\n"))
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1


def test_cached_tokens_count_only_at_the_same_provider(home):
    """A provider's prompt cache is its own: priced at another provider, every input token is plain input."""
    from routecli.ledger.recorded import RecordedRequest, StoredFacts, Usage
    from routecli.policy.prices import resolve_prices
    from routecli.run.replay import replay

    final = Usage("claude-haiku", "anthropic", 10_000, 100, 8_000, 0, Decimal("0.001"))
    facts = StoredFacts(4, 10_000, 40_000, {}, None)
    request = RecordedRequest("r", time.time(), "chat", "claude-haiku", "anthropic", None, 10_000, False, facts, final)
    for target, cached in (("mistral-medium", 0), ("claude-sonnet", 8_000)):
        path = home / f"{target}.yaml"
        path.write_text(f"tasks:\n  chat:\n    candidates: [{target}]\n", encoding="utf-8")
        policy = load_policy(str(path), home / "config")
        prices = resolve_prices(policy, home / "cache" / "prices.json")
        report = replay([request], policy, prices, "h")
        assert report.moves == {("claude-haiku", target): 1}
        assert report.total.replayed == prices[target].cost(10_000, 100, cached), target


def test_a_local_model_that_took_the_request_is_still_there(route, home):
    """The replay world has no local server, except the one a request was recorded on: it was switched on."""
    facts = DecisionFacts(complexity=1, tokens=5, input_bytes=12, policy_hash="old")
    with Ledger(_ledger(home)) as ledger:
        ledger.write([_row(time.time(), "l", alias="local", provider="ollama", cost_usd=Decimal(0), facts=facts),
                      _row(time.time(), "h", facts=facts)])
    report = _replay(route)
    assert report["replayed"] == 2 and report["different"] == 0, report["moves"]


def test_the_policy_fingerprint_is_cached_and_follows_the_policy(tmp_path):
    """Replay tells the current policy's requests by this hash: from the cache it must be the same as read afresh,
    and editing the user's routes.yaml must change it."""
    from routecli.policy.fingerprint import policy_hash, raw_hash
    from routecli.policy.load import load_policy

    config, cache = tmp_path / "config", tmp_path / "cache"
    fresh = load_policy(None, config, None)
    first, second = load_policy(None, config, cache), load_policy(None, config, cache)
    assert policy_hash(fresh) == policy_hash(first) == policy_hash(second) == raw_hash(fresh.raw)
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nbudgets:\n  per_day: 5\n", encoding="utf-8")
    assert policy_hash(load_policy(str(mine), config, cache)) != policy_hash(first)


@pytest.mark.parametrize("command", ["replay", "costs"])
def test_an_end_before_its_start_is_a_usage_error(route, command):
    """`--since 7d --until 30d` could hold nothing: said as a mistake (exit 2), not as an empty report."""
    result = route(command, "--since", "7d", "--until", "30d")
    assert result.returncode == 2 and "--until 30d is not after --since 7d" in result.stderr
    assert route(command, "--since", "30d", "--until", "7d").returncode == 0
