"""A data folder route cannot write (read-only, full) costs the record, never the reply: the call is made and
printed, the ledger's rows and the history's exchange wait in pending files, route exits 8, and the next run
that can write imports them. Budgets are checked against what can still be read.

The folder is made read-only with `chattr +i` and full with a tiny tmpfs, which need root (skipped otherwise);
the same logic is covered without root by making the opens fail the way SQLite fails them there."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AS_ROOT, provider_env, read_only_folder
from fakeprovider import Reply


@contextlib.contextmanager
def _tiny_disk(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    if not AS_ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(folder)]).returncode:
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 512)
    finally:
        os.close(fd)


def _ledger_rows(home: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    try:
        return conn.execute("SELECT alias, status FROM attempts ORDER BY ts").fetchall()
    finally:
        conn.close()


def _temp_pending() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob("route-*.pending.jsonl"))


def _ask(route, fake_provider, text: str, *more: str):
    fake_provider.script("mistral", Reply(text=text))
    return route("ask", text, "-m", "mistral-small", *more, env=provider_env(fake_provider))


def _unwritable_run_then_recovery(route, home: Path, fake_provider, blocked: contextlib.AbstractContextManager) -> None:
    first = _ask(route, fake_provider, "first")
    assert first.returncode == 0, first.stderr
    with blocked:
        sent = len(fake_provider.requests_for("mistral"))
        result = _ask(route, fake_provider, "second")
        assert result.stdout == "second\n", result.stderr  # the reply first, whatever the ledger
        assert result.returncode == 8, result.stderr
        assert len(fake_provider.requests_for("mistral")) == sent + 1
        errors = [line for line in result.stderr.splitlines() if line.startswith("route: error:")]
        assert len(errors) == 1 and "this call is kept in" in errors[0], result.stderr
        assert "Traceback" not in result.stderr
        assert _temp_pending(), "the rows wait in the system's temporary folder"
        explained = route("explain", "hi", "-m", "mistral-small", env=provider_env(fake_provider))
        assert explained.returncode == 0, explained.stderr  # explain records nothing: nothing to fail
    third = _ask(route, fake_provider, "third")
    assert third.returncode == 0 and third.stdout == "third\n", third.stderr
    assert [status for _, status in _ledger_rows(home)] == ["ok", "ok", "ok"]  # the waiting row came in
    assert route("costs", "--json").json()["pending"] == []
    replies = [e["reply"] for e in route("log", "--json").json()]
    assert replies == ["first", "second", "third"]  # the history's waiting exchange too


def test_a_read_only_data_folder_costs_the_record_not_the_reply(route, home, fake_provider):
    _unwritable_run_then_recovery(route, home, fake_provider, read_only_folder(home / "data"))


def test_a_full_data_folder_costs_the_record_not_the_reply(route, home, fake_provider):
    data = home / "data"
    with _tiny_disk(data):

        @contextlib.contextmanager
        def full() -> Iterator[None]:
            _fill(data)
            try:
                yield
            finally:
                (data / "filler").unlink()

        _unwritable_run_then_recovery(route, home, fake_provider, full())


def test_a_conversation_continues_from_a_read_only_data_folder(route, home, fake_provider):
    assert _ask(route, fake_provider, "my name is Zed").returncode == 0
    with read_only_folder(home / "data"):
        follow = _ask(route, fake_provider, "what is my name?", "-c")
        assert follow.returncode == 8 and follow.stdout == "what is my name?\n", follow.stderr
    messages = fake_provider.requests_for("mistral")[-1].body["messages"]
    assert any("my name is Zed" in str(message.get("content")) for message in messages)


# --- the same without root: the opens fail as SQLite fails them in a read-only or full folder ----------------


def _refuse_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, creating the ledger's or history's file fails, and so does a read-only open that must create
    its -shm (what a read-only or full folder does)."""
    from routecli import sqlite_read
    from routecli.history import store as history_store
    from routecli.ledger import store as ledger_store

    def refuse(path: Path) -> Path:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(ledger_store, "private_file", refuse)
    monkeypatch.setattr(history_store, "private_file", refuse)
    connect = sqlite_read._connect

    def no_shm(path: Path, timeout: float, immutable: bool) -> sqlite3.Connection:
        if not immutable:
            raise sqlite3.OperationalError("unable to open database file")
        return connect(path, timeout, immutable)

    monkeypatch.setattr(sqlite_read, "_connect", no_shm)


def _tight_budget(tmp_path: Path) -> Path:
    policy = tmp_path / "tight.yaml"
    policy.write_text("budgets: {per_day: 0.50, on_exceed: refuse}\n")
    return policy


def _seed_spend(home: Path, usd: str) -> None:
    from decimal import Decimal

    from routecli.ledger.record import record
    from routecli.ledger.store import Row
    from routecli.ledger.target import LedgerTarget

    row = Row(time.time(), "seed", "ask", "chat", "balanced", "claude-opus", "anthropic", "claude-opus-5-5", None,
              0, 0, "ok", None, None, 10, 10, 0, 0, 0, False, Decimal(usd), "test", 0.1, 0.2, "seed")
    record(LedgerTarget(home / "data" / "ledger.sqlite3"), [row])


def test_budgets_are_checked_against_a_ledger_that_can_only_be_read(route, home, fake_provider, tmp_path,
                                                                    monkeypatch):
    _seed_spend(home, "1.00")
    _refuse_writes(monkeypatch)
    result = _ask(route, fake_provider, "hi", "--policy", str(_tight_budget(tmp_path)))
    assert result.returncode == 6, result.stderr  # today's $1.00 was read: the $0.50 budget is spent
    assert not fake_provider.requests_for("mistral") and result.stdout == ""


def test_budgets_are_checked_in_a_read_only_folder(route, home, fake_provider, tmp_path):
    _seed_spend(home, "1.00")
    with read_only_folder(home / "data"):
        result = _ask(route, fake_provider, "hi", "--policy", str(_tight_budget(tmp_path)))
    assert result.returncode == 6, result.stderr
    assert not fake_provider.requests_for("mistral")


def test_without_root_the_reply_is_printed_and_the_rows_wait(route, home, fake_provider, monkeypatch):
    _seed_spend(home, "0.01")
    _refuse_writes(monkeypatch)
    result = _ask(route, fake_provider, "answered")
    assert result.returncode == 8 and result.stdout == "answered\n", result.stderr
    assert "kept in" in result.stderr and "it waits in" in result.stderr  # the row and the exchange
    assert "Traceback" not in result.stderr


def test_a_ledger_that_cannot_even_be_read_counts_from_zero_with_one_notice(route, home, fake_provider,
                                                                           monkeypatch):
    from routecli import sqlite_read

    _seed_spend(home, "0.01")
    _refuse_writes(monkeypatch)

    def unreadable(path: Path, timeout: float, immutable: bool) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite_read, "_connect", unreadable)
    explained = route("explain", "hi", "-m", "mistral-small", env=provider_env(fake_provider))
    assert explained.returncode == 0, explained.stderr
    notices = [line for line in explained.stderr.splitlines() if "budgets count from $0" in line]
    assert len(notices) == 1 and "unable to open database file" in notices[0]
    result = _ask(route, fake_provider, "answered")
    assert result.returncode == 8 and result.stdout == "answered\n", result.stderr
    assert "budgets count from $0" in result.stderr


def _pending_row(request_id: str, usd: str, status: str = "ok", attempt_id: str | None = None) -> str:
    import json
    from decimal import Decimal

    from routecli.ledger.store import Row

    row = Row(time.time(), request_id, "ask", "chat", "balanced", "claude-opus", "anthropic", "claude-opus-5-5", None,
              0, 0, status, None, None, 10, 10, 0, 0, 0, False, Decimal(usd), "test", 0.1, 0.2, "seed",
              attempt_id=attempt_id)
    return json.dumps(row.as_json()) + "\n"


def test_rows_waiting_in_a_pending_file_count_against_the_budgets(route, home, fake_provider, tmp_path,
                                                                   monkeypatch):
    pending = home / "data" / "ledger.sqlite3.pending.jsonl"
    pending.parent.mkdir(parents=True)
    pending.write_text(_pending_row("spent-while-unwritable", "1.00"))  # no ledger could be made: the row waits
    _refuse_writes(monkeypatch)
    result = _ask(route, fake_provider, "hi", "--policy", str(_tight_budget(tmp_path)))
    assert result.returncode == 6, result.stderr
    assert not fake_provider.requests_for("mistral")


def test_a_row_written_ahead_and_settled_in_the_pending_file_counts_once_at_its_cost(route, home, fake_provider,
                                                                                   tmp_path, monkeypatch):
    pending = home / "data" / "ledger.sqlite3.pending.jsonl"
    pending.parent.mkdir(parents=True)
    pending.write_text(_pending_row("r", "2.00", "in_flight", "a1") + _pending_row("r", "0.30", "ok", "a1"))
    _refuse_writes(monkeypatch)
    result = _ask(route, fake_provider, "hi", "--policy", str(_tight_budget(tmp_path)))
    assert result.returncode == 8 and result.stdout == "hi\n", result.stderr  # $0.30 of $0.50: room for this one


def test_json_is_one_object_when_the_ledger_cannot_be_written(route, home, fake_provider, monkeypatch):
    """The reply's object is printed, then the ledger fails (exit 8): no second object follows it on stdout."""
    fake_provider.script("anthropic", Reply(text="four"))
    _refuse_writes(monkeypatch)
    result = route("ask", "two plus two?", "-m", "claude-haiku", "--json", env=provider_env(fake_provider))
    assert result.returncode == 8, result.stderr
    assert json.loads(result.stdout)["reply"] == "four"  # one object: json.loads refuses two
