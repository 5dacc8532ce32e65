"""Shared cooldowns: with a shared ledger, a provider put in cooldown by one user's failure is skipped by every
user until it expires; with the database away, each machine falls back to its own cooldown file."""

from __future__ import annotations

import shutil

from conftest import provider_env
from fakeprovider import Fault
from test_postgres_cli import pg_rows


def _why(route, env: dict[str, str], alias: str) -> str:
    data = route("explain", "say hi", "-m", alias, "--json", env=env).json()
    return next(c["why"] for c in data["candidates"] if c["alias"] == alias)


def _fail_openai(route, fake_provider, env: dict[str, str]) -> None:
    fake_provider.script("openai", *[Fault("529")] * 3)  # the first try and both retries: overloaded
    result = route("ask", "say hi", "-m", "gpt-mini", env=env)
    assert result.returncode == 7, result.stderr


def test_a_cooldown_started_by_one_user_is_seen_by_another(route, home, fake_provider, pg_url, tmp_path):
    other = tmp_path / "other-home"
    shutil.copytree(home, other)
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url}
    _fail_openai(route, fake_provider, {**env, "ROUTE_USER": "alice"})
    assert [r[0] for r in pg_rows(pg_url, "SELECT key FROM cooldowns")] == ["provider:openai"]
    seen = _why(route, {**env, "ROUTE_HOME": str(other), "ROUTE_USER": "bob"}, "gpt-mini")
    assert "cooling down" in seen and "overloaded" in seen
    assert not (other / "state" / "cooldowns.json").exists()  # from the team's table, not bob's file
    doctor = route("doctor", "--json", env={**env, "ROUTE_HOME": str(other)}).json()
    assert [c["key"] for c in doctor["cooldowns"]] == ["provider:openai"]
    assert "cooling down" not in _why(route, {**env, "ROUTE_HOME": str(other), "ROUTE_LEDGER_URL": ""}, "gpt-mini")


def test_with_the_database_away_cooldowns_stay_on_this_machine(route, home, fake_provider, tmp_path):
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": f"postgresql://route@/nodb?host={tmp_path}"}
    _fail_openai(route, fake_provider, env)
    assert (home / "state" / "cooldowns.json").exists()
    assert "cooling down" in _why(route, env, "gpt-mini")
