"""A team budget on a shared PostgreSQL ledger holds across machines: each request reserves its worst case
before it is sent (ledger/reservations.py), so many users calling at once never cross it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Fault, Reply
from test_postgres_cli import pg_rows

WORST = Decimal("0.0004005")  # gpt-mini, "say hi", --max-tokens 200: 2 input tokens + 200 output tokens
ASK = ("ask", "say hi", "-m", "gpt-mini", "--max-tokens", "200")


def _reply(delay: float = 0.0) -> Reply:
    """A reply that costs exactly the worst case, so the budget admits a known number of calls."""
    return Reply(text="hi there", input_tokens=2, output_tokens=200, chunks=2, chunk_delay=delay)


def _homes(tmp_path: Path, price_cache: Path, budget: str, count: int = 3) -> list[Path]:
    homes = []
    for n in range(count):
        home = tmp_path / f"home{n}"
        (home / "cache").mkdir(parents=True)
        if price_cache.exists():
            shutil.copy(price_cache, home / "cache" / "prices.json")
        (home / "budget.yaml").write_text(f"budgets:\n{budget}  on_exceed: refuse\n", encoding="utf-8")
        homes.append(home)
    return homes


@pytest.mark.process
def test_32_concurrent_asks_from_3_users_never_cross_the_team_budget(
    route, tmp_path, price_cache, fake_provider, pg_url
):
    budget = WORST * Decimal("16.5")  # room for 16 of the 32
    homes = _homes(tmp_path, price_cache, f"  per_day: {budget}\n")
    fake_provider.script("openai", *[_reply(delay=0.4) for _ in range(32)])
    procs = []
    for n in range(32):
        home = homes[n % 3]
        env = {**_clean_env(home), **provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url, "ROUTE_USER": f"u{n % 3}"}
        command = [sys.executable, "-m", "routecli", *ASK, "--policy", str(home / "budget.yaml")]
        procs.append(subprocess.Popen(command, env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = [(p.wait(timeout=120), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.stdout.close()  # type: ignore[union-attr]
        p.stderr.close()  # type: ignore[union-attr]
    answered = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] == 6]
    assert len(answered) + len(refused) == 32, [r for r in results if r[0] not in (0, 6)]
    assert all(r[1].strip() == "hi there" for r in answered)
    assert all("budget" in r[2] and r[1] == "" for r in refused)
    assert 12 <= len(answered) <= 16, len(answered)  # about half: the budget, not luck, decided

    rows = pg_rows(pg_url, "SELECT request_id, status, cost_nano, user_name FROM attempts")
    assert len(rows) == len(answered) and {r[1] for r in rows} == {"ok"}  # each answered call recorded once
    assert len({r[0] for r in rows}) == len(rows)
    spent = sum(Decimal(r[2]) for r in rows) / 10**9
    assert spent <= budget, (spent, budget)
    assert pg_rows(pg_url, "SELECT COUNT(*) FROM reservations")[0][0] == 0  # every reservation released

    report = route("costs", "--by", "user", "--json", env={"ROUTE_HOME": str(homes[0]), "ROUTE_LEDGER_URL": pg_url})
    assert report.returncode == 0, report.stderr
    data = report.json()
    assert Decimal(str(data["total"]["cost_usd"])) == spent
    by_user = {g["key"]["user"]: g["calls"] for g in data["groups"]}
    assert sum(by_user.values()) == len(rows) and set(by_user) <= {"u0", "u1", "u2"}


def _budget(tmp_path: Path, text: str) -> str:
    policy = tmp_path / "budget.yaml"
    policy.write_text(f"budgets:\n{text}  on_exceed: refuse\n", encoding="utf-8")
    return str(policy)


def test_each_users_budget_holds_on_its_own(route, fake_provider, pg_url, tmp_path):
    policy = _budget(tmp_path, f"  per_user_day: {WORST * Decimal('1.5')}\n")  # one call each
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url}
    fake_provider.script("openai", _reply(), _reply())
    assert route(*ASK, "--policy", policy, env={**env, "ROUTE_USER": "ann"}).returncode == 0
    again = route(*ASK, "--policy", policy, env={**env, "ROUTE_USER": "ann"})
    assert again.returncode == 6 and "refused by ann's daily budget" in again.stderr, again.stderr
    assert route(*ASK, "--policy", policy, env={**env, "ROUTE_USER": "ben"}).returncode == 0


def test_a_reservation_counts_until_it_expires_and_every_exit_releases_its_own(
    route, fake_provider, pg_url, tmp_path
):
    import psycopg

    from routecli.ledger.reservations import RESERVATION_TTL_S

    policy = _budget(tmp_path, f"  per_day: {WORST * Decimal('1.5')}\n")  # room for one call
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url}
    assert route("costs", env=env).returncode == 0  # creates the tables
    nano = int(WORST * 10**9)

    def left_by_a_dead_process(seconds_ago: int) -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DELETE FROM reservations")
            conn.execute(
                "INSERT INTO reservations (request_id, user_name, day, ts, amount_nano, expires_at) VALUES "
                "('dead', 'x', 'today', extract(epoch FROM now()), %s, now() + make_interval(secs => %s))",
                (nano, RESERVATION_TTL_S - seconds_ago),
            )

    left_by_a_dead_process(60)  # still live: it holds the room
    refused = route(*ASK, "--policy", policy, env=env)
    assert refused.returncode == 6 and "$0.00040 reserved by calls in flight" in refused.stderr, refused.stderr
    left_by_a_dead_process(RESERVATION_TTL_S + 1)  # expired: it no longer counts, and is cleaned up
    fake_provider.script("openai", Fault("401"))  # a failed call (exit 7) releases its reservation too
    failed = route(*ASK, "--policy", policy, env=env)
    assert failed.returncode == 7, failed.stderr
    assert pg_rows(pg_url, "SELECT COUNT(*) FROM reservations")[0][0] == 0
    fake_provider.script("openai", _reply())
    assert route(*ASK, "--policy", policy, env=env).returncode == 0
