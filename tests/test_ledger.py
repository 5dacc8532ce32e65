"""The cost ledger: one row per attempt, exact costs, safe under concurrency and faults, and its reports."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ALL_KEYS, _clean_env, provider_env
from fakeprovider import Fault, Reply

GREETING = "hello there!"


def _rows(home: Path) -> list[dict]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute("SELECT * FROM attempts ORDER BY id")]


def _price(route, alias: str) -> dict:
    rows = route("models", "--json").json()
    return next(r for r in rows if r["alias"] == alias)["price_per_mtok"]


def _expected_cost(price: dict, total_in: int, out: int, cached: int, cache_write: int = 0) -> Decimal:
    rate = {k: Decimal(str(v)) for k, v in price.items() if isinstance(v, (int, float))}
    cached_rate = rate.get("cached_input", rate["input"])
    plain = total_in - cached - cache_write
    write_rate = rate["input"] if cache_write == 0 else None
    assert write_rate is not None, "cache writes are not used in these tests"
    return (plain * rate["input"] + cached * cached_rate + out * rate["output"]) / Decimal(1_000_000)


@pytest.mark.parametrize(
    ("flavor", "alias"),
    [
        ("anthropic", "claude-sonnet"),
        ("mistral", "mistral-large"),
        ("openai", "gpt-mini"),
        ("moonshot", "kimi-k2"),
        ("gemini", "gemini-flash"),
    ],
)
def test_usage_and_cost_match_provider_fields_and_price_table(route, home, fake_provider, flavor, alias):
    fake_provider.script(flavor, Reply(text="ok", input_tokens=120_000, output_tokens=4_321, cached_tokens=50_000))
    result = route("ask", "go", "-m", alias, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    (row,) = _rows(home)
    total_in = 120_000 + 50_000 if flavor == "anthropic" else 120_000  # Anthropic's input excludes cache reads
    assert (row["input_tokens"], row["output_tokens"], row["cached_input_tokens"]) == (total_in, 4_321, 50_000)
    assert row["usage_estimated"] == 0
    expected = _expected_cost(_price(route, alias), total_in, 4_321, 50_000)
    assert Decimal(row["cost_usd"]) == expected  # exact, not just to the cent
    assert row["cost_nano"] == int((expected * 10**9).to_integral_value())
    assert row["status"] == "ok" and row["alias"] == alias and row["provider"] == row["provider"]
    assert row["price_source"].startswith("genai-prices")
    assert row["reported_model_id"] and row["reason"] and row["task"]


def test_fallback_produces_two_rows(route, home, fake_provider):
    fake_provider.script("anthropic", Fault("529"))
    assert route("ask", GREETING, env=provider_env(fake_provider)).returncode == 0
    rows = _rows(home)
    assert [(r["alias"], r["status"], r["chain_position"]) for r in rows] == [
        ("claude-haiku", "fallback", 0),
        ("mistral-medium", "ok", 1),
    ]
    assert rows[0]["error_kind"] == "overloaded" and Decimal(rows[0]["cost_usd"]) == 0  # a 529 is not billed
    assert rows[0]["request_id"] == rows[1]["request_id"]


@pytest.mark.process
def test_ctrl_c_produces_an_interrupted_row(home, fake_provider):
    fake_provider.script("anthropic", Reply(text="a b c d e f g h", chunks=8, chunk_delay=0.4))
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    proc = subprocess.Popen(
        [sys.executable, "-m", "routecli", "ask", GREETING],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.read1(4096)  # the first text is out: now interrupt mid-stream
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    (row,) = _rows(home)
    assert row["status"] == "interrupted" and row["usage_estimated"] == 1
    assert row["output_tokens"] > 0 and Decimal(row["cost_usd"]) > 0


@pytest.mark.process
def test_sixteen_concurrent_processes_record_sixteen_rows(home, fake_provider):
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "routecli", "ask", f"hello number {i}", "-m", "mistral-small"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(16)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    rows = _rows(home)
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows)
    assert len({r["request_id"] for r in rows}) == 16


def test_prompts_and_keys_are_not_stored_by_default(route, home, fake_provider):
    route("ask", "my secret plan", "-m", "mistral-small", env=provider_env(fake_provider))
    route("ask", "logged on purpose", "-m", "mistral-small", "--log-prompts", env=provider_env(fake_provider))
    rows = _rows(home)
    assert rows[0]["prompt"] is None and rows[1]["prompt"] == "logged on purpose"
    raw = (home / "data" / "ledger.sqlite3").read_bytes()
    assert b"my secret plan" not in raw
    for key in ALL_KEYS.values():
        assert key.encode() not in raw


def test_unpriced_model_is_recorded_as_unpriced_not_zero(route, home, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "models:\n  mystery:\n    provider: openai\n    id: gpt-unknown-9000\n    context: 100000\n"
        "    max_output: 4000\n    tier: 2\n"
    )
    fake_provider.script("openai", Reply(text="hi", input_tokens=10, output_tokens=5))
    result = route("ask", "hi", "-m", "mystery", "--policy", str(policy), "--json", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.json()["cost_usd"] is None
    (row,) = _rows(home)
    assert row["cost_usd"] is None and row["cost_nano"] is None
    report = route("costs", "--json").json()
    assert report["unpriced_calls"] == 1 and report["total"]["cost_usd"] == 0
    assert "no known price" in route("costs").stdout


# --- faults of the ledger itself ------------------------------------------------------------------------


def test_unwritable_ledger_keeps_the_reply_and_exits_8(route, home, fake_provider, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    env = provider_env(fake_provider, ROUTE_HOME=str(blocker))
    fake_provider.script("mistral", Reply(text="the reply"))
    result = route("ask", "hi", "-m", "mistral-small", env=env)
    assert result.returncode == 8
    assert result.stdout == "the reply\n"
    assert "ledger" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_ledger_is_reported_and_rows_are_kept_for_later(route, home, fake_provider, tmp_path):
    ledger = home / "data" / "ledger.sqlite3"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(b"this is not sqlite" * 100)
    # With budgets on, the spend cannot be checked: refuse before spending anything.
    refused = route("ask", "hi", "-m", "mistral-small", env=provider_env(fake_provider))
    assert refused.returncode == 8 and "corrupt" in refused.stderr and refused.stdout == ""
    assert fake_provider.requests_for("mistral") == []
    # Without budgets the call goes ahead; the row waits in a pending file until the ledger is usable.
    no_budgets = tmp_path / "nobudget.yaml"
    no_budgets.write_text("budgets: {per_day: null, per_month: null}\n")
    fake_provider.script("mistral", Reply(text="still answered"))
    result = route("ask", "hi", "-m", "mistral-small", "--policy", str(no_budgets), env=provider_env(fake_provider))
    assert result.returncode == 8 and result.stdout == "still answered\n"
    assert "corrupt" in result.stderr
    assert ledger.read_bytes().startswith(b"this is not sqlite")  # never deleted
    ledger.rename(ledger.with_suffix(".broken"))
    assert route("ask", "again", "-m", "mistral-small", env=provider_env(fake_provider)).returncode == 0
    assert [r["status"] for r in _rows(home)] == ["ok", "ok"]  # the pending row came back, plus the new one


def test_newer_schema_is_refused_clearly(route, home):
    ledger = home / "data" / "ledger.sqlite3"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(ledger)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    result = route("costs")
    assert result.returncode == 8 and "newer" in result.stderr


# --- reports -------------------------------------------------------------------------------------------


def test_costs_vs_opus_matches_a_hand_computation(route, home, fake_provider):
    env = provider_env(fake_provider)
    usage = {"anthropic": (1000, 200, 0), "mistral": (3000, 500, 0), "moonshot": (2000, 800, 400)}
    fake_provider.script("anthropic", Reply(text="hi", input_tokens=1000, output_tokens=200))
    assert route("ask", GREETING, env=env).returncode == 0  # chat -> claude-haiku
    fake_provider.script("mistral", Reply(text="s", input_tokens=3000, output_tokens=500))
    assert route("ask", "Summarize: the meeting moved to Tuesday.", env=env).returncode == 0  # mistral-large
    fake_provider.script("moonshot", Reply(text="c", input_tokens=2000, output_tokens=800, cached_tokens=400))
    assert route("ask", "Prove that 2 + 2 = 4.", "-m", "kimi-k2-thinking", env=env).returncode == 0
    rows = _rows(home)
    assert [r["provider"] for r in rows] == ["anthropic", "mistral", "moonshot"]
    opus = _price(route, "claude-opus")
    rate_in, rate_out, rate_cached = (Decimal(str(opus[k])) for k in ("input", "output", "cached_input"))
    baseline = Decimal(0)
    for total_in, out, cached in usage.values():
        baseline += ((total_in - cached) * rate_in + cached * rate_cached + out * rate_out) / Decimal(1_000_000)
    actual = sum(Decimal(r["cost_usd"]) for r in rows)
    report = route("costs", "--vs", "claude-opus", "--json").json()
    savings = report["savings"]
    assert savings["vs"] == "claude-opus"
    assert savings["baseline_cost_usd"] == pytest.approx(float(baseline), abs=1e-9)
    assert savings["saved_usd"] == pytest.approx(float(baseline - actual), abs=1e-9)
    assert savings["saved_fraction"] == pytest.approx(float((baseline - actual) / baseline), abs=1e-6)
    assert savings["saved_fraction"] > 0.3  # the mission's own metric
    assert report["total"]["calls"] == 3 and report["total"]["failed"] == 0
    assert "saved" in route("costs", "--vs", "claude-opus").stdout


def test_costs_grouping_dates_csv_and_empty(route, home, fake_provider):
    assert "No calls recorded yet" in route("costs").stdout
    empty = route("costs", "--json").json()
    assert empty["total"]["calls"] == 0 and empty["groups"] == []
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Fault("529"))
    route("ask", GREETING, env=env)
    route("ask", "write a python function to add numbers", env=env)
    data = route("costs", "--by", "model", "--by", "day", "--json").json()
    keys = [g["key"] for g in data["groups"]]
    assert {k["model"] for k in keys} == {"claude-haiku", "mistral-medium", "codestral"}
    assert all(set(k) == {"model", "day"} for k in keys)
    assert data["total"]["calls"] == 3 and data["total"]["failed"] == 1
    assert route("costs", "--since", "1h", "--json").json()["total"]["calls"] == 3
    assert route("costs", "--until", "2000-01-01", "--json").json()["total"]["calls"] == 0
    csv_lines = route("costs", "--by", "provider", "--csv").stdout.strip().splitlines()
    assert csv_lines[0].startswith("provider,calls,failed")
    assert len(csv_lines) == 3
    bad = route("costs", "--by", "colour")
    assert bad.returncode == 2 and "colour" in bad.stderr
    assert route("costs", "--since", "last tuesday").returncode == 2


def test_stats_rates_latency_and_advice(route, home, fake_provider):
    env = provider_env(fake_provider)
    for _ in range(5):
        fake_provider.script("anthropic", Fault("401"))
        route("ask", GREETING, env=env)
    data = route("stats", "--json").json()
    haiku = next(m for m in data["models"] if m["alias"] == "claude-haiku")
    medium = next(m for m in data["models"] if m["alias"] == "mistral-medium")
    assert haiku["success_rate"] == 0 and haiku["fallback_rate"] == 1
    assert medium["success_rate"] == 1 and medium["first_token_p50_s"] is not None
    assert any("claude-haiku failed 5 of its 5 calls" in line for line in data["recommendations"])
    assert "Recommendations" in route("stats").stdout


# --- budgets ----------------------------------------------------------------------------------------------


def _spend(home: Path, usd: str) -> None:
    from routecli.ledger.record import record
    from routecli.ledger.store import Row

    row = Row(
        time.time(),
        "seed",
        "ask",
        "chat",
        "balanced",
        "claude-opus",
        "anthropic",
        "claude-opus-5-5",
        None,
        0,
        0,
        "ok",
        None,
        None,
        10,
        10,
        0,
        0,
        0,
        False,
        Decimal(usd),
        "test",
        0.1,
        0.2,
        "seed",
    )
    record(home / "data" / "ledger.sqlite3", [row])


def test_daily_budget_downgrades_or_refuses(route, home, tmp_path):
    _spend(home, "19.99")
    env = dict(ALL_KEYS)
    prompt = "Refactor our distributed scheduler into a lock-free architecture and fix the race condition."
    data = route("explain", prompt, "--json", env=env).json()
    over = [c for c in data["candidates"] if "daily budget" in c["why"]]
    assert over, data["candidates"]
    if data["chosen"]:
        chosen = next(c for c in data["candidates"] if c["alias"] == data["chosen"]["alias"])
        assert chosen["worst_case_cost_usd"] <= 0.01 + 1e-9
    refuse = tmp_path / "refuse.yaml"
    refuse.write_text("budgets:\n  per_day: 20\n  on_exceed: refuse\n")
    result = route("ask", prompt, "--policy", str(refuse), env=env)
    assert result.returncode == 6 and "daily budget" in result.stderr


def test_per_request_max_cost_flag(route):
    result = route("explain", "write a haiku about rain", "--max-cost", "0.000001", "--json", env=dict(ALL_KEYS))
    data = json.loads(result.stdout) if result.stdout else None
    assert result.returncode in (0, 6)
    if result.returncode == 6:
        assert "per-request budget" in result.stderr
    else:
        assert any("per-request budget" in c["why"] for c in data["candidates"])



def test_amounts_under_a_cent_keep_two_significant_digits(route, tmp_path):
    from routecli.policy.prices import money

    assert money(Decimal("0.001"), 2) == money(Decimal("0.001")) == "$0.0010"
    assert money(Decimal("0.0000001")) == "$0.00000010" and money(Decimal("0.000123"), 6) == "$0.000123"
    assert money(Decimal("12.5"), 2) == "$12.50" and money(Decimal("0.5")) == "$0.5000"  # a cent and up: as before
    assert money(Decimal("150")) == "$150.00" and money(Decimal(0)) == "$0" and money(None) == "unpriced"
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("budgets:\n  per_day: 0.001\n  on_exceed: refuse\n")
    day = route("ask", "write a haiku about rain", "--policy", str(tiny), env=dict(ALL_KEYS))
    assert day.returncode == 6 and "($0 spent of $0.0010)" in day.stderr, day.stderr
    request = route("ask", "write a haiku about rain", "--max-cost", "0.001", env=dict(ALL_KEYS))
    assert request.returncode == 6 and "over the per-request budget $0.0010" in request.stderr, request.stderr

def test_an_older_ledger_is_migrated_without_loss(route, home, fake_provider):
    from routecli.ledger.store import _MIGRATIONS

    ledger = home / "data" / "ledger.sqlite3"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(ledger)
    for statement in _MIGRATIONS[0]:  # a ledger as version 1 of the schema left it
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO attempts (ts, day, request_id, command, alias, provider, model_id, chain_position, try_number, "
        "status, input_tokens, output_tokens, cost_usd, cost_nano) VALUES "
        f"({time.time()}, '2026-01-01', 'old', 'ask', 'claude-haiku', 'anthropic', 'x', 0, 0, 'ok', 5, 5, '0.25', "
        "250000000)"
    )
    conn.commit()
    conn.close()
    assert route("costs", "--json").json()["total"]["cost_usd"] == 0.25  # readable before any write
    assert route("ask", "hi", "-m", "mistral-small", env=provider_env(fake_provider)).returncode == 0
    rows = _rows(home)
    assert next(r["request_id"] for r in rows) == "old" and len(rows) == 2
    assert "stage" in rows[0]
    version = sqlite3.connect(ledger).execute("PRAGMA user_version").fetchone()[0]
    assert version == len(_MIGRATIONS)
