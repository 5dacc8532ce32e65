"""A shared ledger that goes away never blocks a call and loses no row: the reply is printed, the rows wait in
the local pending file, and the next run that reaches the database (or `route ledger sync`) sends them;
budgets are then checked against what this machine last read. And `route ledger import` copies a personal
ledger in without duplicates. Against a real PostgreSQL of this module's own, stopped and started here."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import provider_env
from fakeprovider import Reply
from pgserver import PgServer
from test_postgres_cli import pg_rows

ASK = ("ask", "say hi", "-m", "gpt-mini", "--max-tokens", "200")


@pytest.fixture
def shared(pg_own_server: PgServer) -> str:
    """A fresh database on the module's server, which each test finds running."""
    import psycopg

    pg_own_server.start() if not _running(pg_own_server) else None
    name = f"away{time.monotonic_ns()}"
    with psycopg.connect(pg_own_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_own_server.url(name)


def _running(server: PgServer) -> bool:
    return server.tool("pg_ctl", "-D", str(server.data), "status").returncode == 0


def _pending(home: Path) -> int:
    """The calls waiting for the database: one per attempt (a row written ahead and its settled line are one)."""
    path = home / "data" / "shared-ledger.pending.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return len({json.loads(line).get("attempt_id") or n for n, line in enumerate(lines)})


def test_database_stopped_mid_call_loses_no_row(route, home, fake_provider, pg_own_server, shared):
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": shared}
    gate = threading.Event()
    fake_provider.script("openai", Reply(text="still answered", hold=gate))

    def stop_once_sent() -> None:
        deadline = time.monotonic() + 60
        while not fake_provider.requests_for("openai") and time.monotonic() < deadline:
            time.sleep(0.02)
        pg_own_server.stop()
        gate.set()

    stopper = threading.Thread(target=stop_once_sent)
    stopper.start()
    result = route(*ASK, env=env)
    stopper.join()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "still answered\n"
    assert "sent on the next run that reaches it" in result.stderr
    assert _pending(home) == 1

    # Still away: a second call waits beside the first.
    assert route(*ASK, env=env).returncode == 0 and _pending(home) == 2
    pg_own_server.start()
    synced = route("ledger", "sync", env=env)
    assert synced.returncode == 0, synced.stderr
    # the second call waited as two lines (its row written ahead, then settled): both are sent, one row results
    assert synced.stdout.startswith("sent 3 rows") and "0 still waiting" in synced.stdout
    assert _pending(home) == 0
    assert pg_rows(shared, "SELECT COUNT(*) FROM attempts WHERE status = 'ok'")[0][0] == 2
    assert route("ledger", "sync", "--json", env=env).json()["stored"] == 0


def test_the_next_run_that_reaches_the_database_sends_what_waited(route, home, fake_provider, pg_own_server, shared):
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": shared}
    pg_own_server.stop()
    away = route(*ASK, env=env)
    assert away.returncode == 0 and _pending(home) == 1
    # Two lines for the person: the budgets were checked against what was last known; the call waits.
    assert away.stderr.count("\n") == 2 and "not reserved" not in away.stderr, away.stderr
    pg_own_server.start()
    assert route(*ASK, env=env).returncode == 0
    assert _pending(home) == 0
    assert pg_rows(shared, "SELECT COUNT(*) FROM attempts")[0][0] == 2


def test_budgets_with_the_database_away_use_what_this_machine_last_read(
    route, home, fake_provider, pg_own_server, shared, tmp_path
):
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": shared}
    for _ in range(2):  # the second run reads (and remembers) what the first one spent
        fake_provider.script("openai", Reply(text="ok", input_tokens=2, output_tokens=200))
        assert route(*ASK, env=env).returncode == 0
    worst = Decimal("0.0004005")  # each call's worst case, and what the replies above cost
    assert Decimal(pg_rows(shared, "SELECT SUM(cost_nano) FROM attempts")[0][0]) / 10**9 == 2 * worst
    # The last figure read is the first call's spend: by it, one more call does not fit; from $0, it would.
    policy = tmp_path / "budget.yaml"
    policy.write_text(f"budgets:\n  per_day: {worst * Decimal('1.5')}\n  on_exceed: refuse\n", encoding="utf-8")
    pg_own_server.stop()
    refused = route(*ASK, "--policy", str(policy), env=env)
    assert refused.returncode == 6, refused.stderr
    assert "budgets were checked against what this machine last read" in refused.stderr
    assert "daily budget" in refused.stderr


def test_import_copies_a_personal_ledger_once(route, home, fake_provider, shared):
    for _ in range(3):
        assert route(*ASK, env=provider_env(fake_provider)).returncode == 0  # the personal SQLite ledger
    personal = home / "data" / "ledger.sqlite3"
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": shared}
    first = route("ledger", "import", str(personal), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("imported 3 rows") and "skipped 0" in first.stdout
    again = route("ledger", "import", str(personal), "--json", env=env).json()
    assert (again["imported"], again["skipped"]) == (3 - 3, 3)
    assert pg_rows(shared, "SELECT COUNT(*) FROM attempts")[0][0] == 3
    assert pg_rows(shared, "SELECT SUM(calls) FROM rollup")[0][0] == 3
    mine = route("ledger", "import", str(personal))  # no shared ledger to import into
    assert mine.returncode == 2 and "ROUTE_LEDGER_URL" in mine.stderr
    missing = route("ledger", "import", str(home / "nope.sqlite3"), env=env)
    assert missing.returncode == 2 and "no ledger file" in missing.stderr


def test_a_database_that_never_answers_is_waited_for_once_per_run(route, fake_provider):
    """A run opens the ledger up to four times (spend, cooldowns, reservation, rows): only the first waits for
    the connect timeout; the rest fail at once, so an unreachable database costs one timeout, not four."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:  # take connections and never answer them
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        url = f"postgresql://route@127.0.0.1:{listener.getsockname()[1]}/db"
        result = route(*ASK, env={**provider_env(fake_provider), "ROUTE_LEDGER_URL": url})
    finally:
        done.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    assert "this call waits in" in result.stderr
    assert len(accepted) == 1
