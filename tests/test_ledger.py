"""The cost ledger: one row per attempt, exact costs, safe under concurrency and faults, and its reports."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
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
        "budgets: {per_request: null, per_day: null, per_month: null}\n"  # no money limit: it may run unpriced
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


def _damaged_files(ledger: Path) -> list[Path]:
    return sorted(p for p in ledger.parent.glob(ledger.name + ".damaged-*") if not p.name.endswith(("-wal", "-shm")))


def test_random_bytes_ledger_is_set_aside_and_work_goes_on(route, home, fake_provider):
    ledger = home / "data" / "ledger.sqlite3"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    junk = bytes(range(256)) * 40
    ledger.write_bytes(junk)
    env = provider_env(fake_provider)
    # explain (budgets on by default) reads what it can and writes nothing
    explained = route("explain", "hi", "-m", "mistral-small", env=env)
    assert explained.returncode == 0, explained.stderr
    assert "damaged" in explained.stderr and "budgets were checked against the 0 rows" in explained.stderr
    assert ledger.read_bytes() == junk and _damaged_files(ledger) == []
    assert not any((where / ":memory:").exists() for where in (Path.cwd(), home.parent, home))  # no stray file
    # ask sets it aside (kept, byte for byte), starts a fresh ledger, answers and records the call
    fake_provider.script("mistral", Reply(text="still answered"))
    result = route("ask", "hi", "-m", "mistral-small", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "still answered\n"
    notices = [line for line in result.stderr.splitlines() if "set aside" in line]
    assert len(notices) == 1 and "budgets were checked against the salvaged rows" in notices[0]
    assert "Traceback" not in result.stderr
    [aside] = _damaged_files(ledger)
    assert aside.read_bytes() == junk
    assert [r["status"] for r in _rows(home)] == ["ok"]
    assert fake_provider.requests_for("mistral")


def test_damaged_ledger_without_budgets_is_repaired_when_recording(route, home, fake_provider, tmp_path):
    ledger = home / "data" / "ledger.sqlite3"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(b"this is not sqlite" * 100)
    no_budgets = tmp_path / "nobudget.yaml"
    no_budgets.write_text("budgets: {per_day: null, per_month: null}\n")
    fake_provider.script("mistral", Reply(text="answered"))
    env = provider_env(fake_provider)
    result = route("ask", "hi", "-m", "mistral-small", "--policy", str(no_budgets), env=env)
    assert result.returncode == 0 and result.stdout == "answered\n", result.stderr
    assert "set aside" in result.stderr and "0 readable rows were salvaged" in result.stderr
    [aside] = _damaged_files(ledger)
    assert aside.read_bytes().startswith(b"this is not sqlite")
    assert [r["status"] for r in _rows(home)] == ["ok"]


def test_truncated_ledger_is_salvaged_and_work_goes_on(route, home, fake_provider):
    ledger = home / "data" / "ledger.sqlite3"
    for _ in range(300):
        _spend(home, "0.01")
    conn = sqlite3.connect(ledger)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = ledger.read_bytes()
    ledger.write_bytes(data[: len(data) // 2])
    env = provider_env(fake_provider)
    explained = route("explain", "hi", "-m", "mistral-small", env=env)
    assert explained.returncode == 0, explained.stderr
    assert "damaged" in explained.stderr and "budgets were checked against" in explained.stderr
    assert _damaged_files(ledger) == [] and ledger.read_bytes() == data[: len(data) // 2]
    fake_provider.script("mistral", Reply(text="answered"))
    result = route("ask", "hi", "-m", "mistral-small", env=env)
    assert result.returncode == 0 and result.stdout == "answered\n", result.stderr
    assert "set aside" in result.stderr and "Traceback" not in result.stderr
    [aside] = _damaged_files(ledger)
    assert aside.read_bytes() == data[: len(data) // 2]
    rows = _rows(home)
    assert 0 < len(rows) - 1 < 300  # some of the seeded rows were salvaged, the rest were lost with the pages
    assert rows[-1]["alias"] == "mistral-small" and rows[-1]["status"] == "ok"
    assert all(r["request_id"] == "seed" for r in rows[:-1])


def test_pending_rows_use_one_path_shown_by_paths_and_costs(route, home, fake_provider, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    env = provider_env(fake_provider, ROUTE_HOME=str(blocker))
    fake_provider.script("mistral", Reply(text="the reply"))
    result = route("ask", "hi", "-m", "mistral-small", env=env)
    assert result.returncode == 8 and result.stdout == "the reply\n"
    shown = route("paths", "--json", env=env).json()["ledger_pending"]
    assert not shown.endswith("(none)"), shown
    assert Path(shown).exists() and Path(shown).parent == Path(tempfile.gettempdir())
    assert shown in result.stderr  # the path the failed write named
    costs = route("costs", env=env)
    assert costs.returncode == 0
    assert f"1 row(s) pending in {shown}" in costs.stdout
    assert route("costs", "--json", env=env).json()["pending"] == [{"path": shown, "rows": 1}]
    doctor = route("doctor", "--json", env=env).json()
    assert doctor["ledger"]["pending"][0]["path"] == shown


def test_pending_rows_beside_a_writable_ledger(route, home):
    from routecli.ledger.record import pending_path

    ledger = home / "data" / "ledger.sqlite3"
    assert pending_path(ledger) == ledger.with_name("ledger.sqlite3.pending.jsonl")


def test_tests_use_their_own_temp_folder(tmp_path):
    assert Path(tempfile.gettempdir()).is_relative_to(tmp_path)


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
    from routecli.ledger.target import LedgerTarget

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
    record(LedgerTarget(home / "data" / "ledger.sqlite3"), [row])


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
