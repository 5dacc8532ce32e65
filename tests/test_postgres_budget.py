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
from fakeprovider import Reply
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
