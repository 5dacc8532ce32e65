"""`route` on a shared PostgreSQL ledger, end to end through the command line against a real, throwaway server
(tests/pgserver.py) and the fake provider: rows carry who made them, the reports add up, a password in the URL
is never shown, and a missing driver is one line with an install hint."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import pytest
from conftest import provider_env
from fakeprovider import Reply

SECRET = "hunter2pgsecret"


def pg_rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def with_password(url: str) -> str:
    """The same database with a password in the URL (the throwaway server trusts local users: it is ignored)."""
    return url.replace("postgresql://route@", f"postgresql://route:{SECRET}@", 1)


def test_ask_records_who_called_and_the_reports_add_up(route, home, fake_provider, pg_url):
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url}
    for user, tag in (("alice", None), ("alice", "proj-x"), ("bob", None)):
        fake_provider.script("openai", Reply(text="ok", input_tokens=1_000, output_tokens=500))
        args = ["ask", "hello", "-m", "gpt-mini", *(["--tag", tag] if tag else [])]
        result = route(*args, env={**env, "ROUTE_USER": user, "ROUTE_TAG": "team-default"})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "ok"
    rows = pg_rows(pg_url, "SELECT user_name, host, tag, cost_nano FROM attempts ORDER BY id")
    assert [(r[0], r[2]) for r in rows] == [("alice", "team-default"), ("alice", "proj-x"), ("bob", "team-default")]
    assert all(r[1] for r in rows) and all(r[3] > 0 for r in rows)
    assert not (home / "data" / "ledger.sqlite3").exists()  # the shared ledger took them, not a local file

    report = route("costs", "--by", "user", "--json", env=env).json()
    by_user = {group["key"]["user"]: group for group in report["groups"]}
    assert set(by_user) == {"alice", "bob"} and by_user["alice"]["calls"] == 2
    raw = sum(r[3] for r in rows)
    assert Decimal(str(report["total"]["cost_usd"])) == Decimal(raw) / 10**9
    assert sum(Decimal(str(g["cost_usd"])) for g in report["groups"]) == Decimal(raw) / 10**9
    tags = {g["key"]["tag"]: g["calls"] for g in route("costs", "--by", "tag", "--json", env=env).json()["groups"]}
    assert tags == {"team-default": 2, "proj-x": 1}

    savings = route("costs", "--vs", "claude-opus", "--by", "day", "--json", env=env)
    assert savings.returncode == 0 and savings.json()["savings"]["baseline_cost_usd"] > 0, savings.stderr
    stats = route("stats", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    (model,) = stats.json()["models"]
    assert model["alias"] == "gpt-mini" and model["calls"] == 3


def test_paths_doctor_and_notices_never_show_the_password(route, home, fake_provider, pg_url, tmp_path):
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": with_password(pg_url)}
    outputs = []
    for args in (("ask", "hi", "-m", "gpt-mini"), ("paths",), ("paths", "--json"), ("doctor",), ("doctor", "--json")):
        result = route(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result.stdout + result.stderr)
    assert "route:***@" in outputs[1] and "shared, PostgreSQL" in outputs[1]
    assert "shared, PostgreSQL" in outputs[3]
    # A database that is away: its notice names the URL, masked.
    away = f"postgresql://route:{SECRET}@/nodb?host={tmp_path}"
    result = route("ask", "hi", "-m", "gpt-mini", env={**env, "ROUTE_LEDGER_URL": away})
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    outputs.append(result.stdout + result.stderr)
    assert "***" in result.stderr
    for args in (("costs",), ("doctor",)):
        failed = route(*args, env={**env, "ROUTE_LEDGER_URL": away})
        outputs.append(failed.stdout + failed.stderr)
    assert not any(SECRET in text for text in outputs)


@pytest.mark.parametrize("args", [("costs",), ("stats",), ("ask", "hi", "-m", "gpt-mini"), ("ledger", "sync")])
def test_without_psycopg_one_line_says_how_to_install_it(route, fake_provider, monkeypatch, args):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now raises ImportError
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": "postgresql://route@/db?host=/nowhere"}
    result = route(*args, env=env)
    assert result.returncode == 8, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "pip install 'routecli[postgres]'" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not fake_provider.requests  # nothing was sent: no call runs unrecorded


def test_ledger_url_in_the_policy_shares_the_ledger(route, home, fake_provider, pg_url):
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "routes.yaml").write_text(f"ledger:\n  url: {pg_url}\n", encoding="utf-8")
    result = route("ask", "hello", "-m", "gpt-mini", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert pg_rows(pg_url, "SELECT COUNT(*) FROM attempts")[0][0] == 1
    assert not (home / "data" / "ledger.sqlite3").exists()
    assert route("costs", "--json").json()["total"]["calls"] == 1
    assert route("stats", "--json").json()["models"][0]["calls"] == 1
    assert "shared, PostgreSQL" in route("paths").stdout
    # ROUTE_LEDGER_URL wins over the policy: here, another database, which is away.
    away = route("costs", env={"ROUTE_LEDGER_URL": "postgresql://route@/nodb?host=/nowhere"})
    assert away.returncode == 8 and "nodb" in away.stderr


@pytest.mark.parametrize("url", [f"postgresql://route:{SECRET}@db.example/route",
                                 f"postgresql://route@db.example/route?password={SECRET}"])
def test_a_password_in_the_policy_is_refused_and_never_echoed(route, home, url):
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "routes.yaml").write_text(f"# team ledger\nledger:\n  url: {url}\n", encoding="utf-8")
    for args in (("ask", "hello"), ("costs",), ("policy", "validate", str(home / "config" / "routes.yaml"))):
        result = route(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "routes.yaml:3" in result.stderr and "must not contain a password" in result.stderr
        assert SECRET not in result.stdout + result.stderr
