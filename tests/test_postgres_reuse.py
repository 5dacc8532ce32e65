"""A run on a shared PostgreSQL ledger connects once (ledger/pg_store.py `_Idle`): it opens the ledger up to five
times, and over a network each connect is a TCP and TLS handshake and a schema check."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from conftest import provider_env
from fakeprovider import Reply

from routecli.ledger import pg_store
from routecli.ledger.pg_store import PgLedger


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    made: list[str] = []
    real = psycopg.connect

    def counting(url: str, *args, **kwargs):
        made.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", counting)
    pg_store._idle.close_all()
    return made


def test_one_ask_connects_once(route, home, fake_provider, pg_url, connects):
    fake_provider.script("openai", Reply(text="ok", input_tokens=100, output_tokens=20))
    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url}
    result = route("ask", "hello", "-m", "gpt-mini", env=env)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert connects == [pg_url]  # spend, reservation, write-ahead and settle shared one connection
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM attempts WHERE status = 'ok'").fetchone()[0] == 1


def test_a_connection_left_in_a_failed_transaction_is_not_reused(pg_url: str, tmp_path: Path, connects):
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as ledger:
        first = ledger.conn
        first.execute("BEGIN")
        with pytest.raises(psycopg.Error):
            first.execute("SELECT * FROM no_such_table")
    assert first.closed
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as ledger:
        assert ledger.conn is not first and ledger.query("SELECT 1") == [(1,)]
    assert len(connects) == 2


def test_two_ledgers_open_at_once_never_share_one(pg_url: str, tmp_path: Path, connects):
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as one, PgLedger(pg_url, tmp_path / "l.sqlite3") as two:
        assert one.conn is not two.conn
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as three:
        assert three.conn in (one.conn, two.conn)  # either, now both are back
    assert len(connects) == 2


def test_a_connection_idle_too_long_is_not_reused(pg_url: str, tmp_path: Path, connects, monkeypatch):
    monkeypatch.setattr(pg_store._Idle, "REUSE_WITHIN_S", 0.0)
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as ledger:
        first = ledger.conn
    with PgLedger(pg_url, tmp_path / "l.sqlite3") as ledger:
        assert ledger.conn is not first
    assert first.closed and len(connects) == 2
