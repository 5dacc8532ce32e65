"""Rows waiting in a pending file are imported line by line: a line that cannot be read (not UTF-8, not JSON, not a
row the ledger would take) is set aside in one file, named in one notice, and never stops the other rows, nor
the call being recorded with them. A batch claimed by a run that died is imported by the next one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from conftest import provider_env
from fakeprovider import Reply


def _row(request_id: str, cost: str = "0.01") -> dict:
    from routecli.ledger.store import Row

    return Row(time.time(), request_id, "ask", "chat", "balanced", "mistral-small", "mistral", "mistral-small-2",
               None, 0, 0, "ok", None, None, 10, 10, 0, 0, 0, False, Decimal(cost), "test", 0.1, 0.2, "seeded",
               attempt_id=f"{request_id}-a").as_json()


def _bad_lines() -> list[bytes]:
    huge = json.dumps({**_row("huge"), "input_tokens": 10**30}).encode()
    text_number = json.dumps({**_row("text"), "ts": "yesterday"}).encode()
    return [b"\xff\xfe\x00", b"not json", b"[1, 2]", b"{}", huge, text_number]


def _ledger(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    try:
        return [r[0] for r in conn.execute("SELECT request_id FROM attempts ORDER BY id")]
    finally:
        conn.close()


def _ask(route, fake_provider, text: str = "four"):
    fake_provider.script("mistral", Reply(text=text))
    return route("ask", text, "-m", "mistral-small", env=provider_env(fake_provider))


def test_unreadable_pending_lines_are_set_aside_and_every_good_row_imported(route, home, fake_provider):
    pending = home / "data" / "ledger.sqlite3.pending.jsonl"
    pending.parent.mkdir(parents=True)
    good = [json.dumps(_row(name)).encode() for name in ("one", "two", "three")]
    bad = _bad_lines()
    torn = json.dumps(_row("torn")).encode()[:40]  # a run killed mid-line: no line end
    pending.write_bytes(b"\n".join([good[0], bad[0], good[1], *bad[1:], good[2], torn]))

    result = _ask(route, fake_provider)
    assert result.returncode == 0 and result.stdout == "four\n", result.stderr
    assert "Traceback" not in result.stderr
    assert _ledger(home)[:3] == ["one", "two", "three"] and len(_ledger(home)) == 4  # and the call itself
    aside = pending.with_name(pending.name + ".unreadable")
    assert aside.read_bytes() == b"".join(line + b"\n" for line in [*bad, torn])  # byte for byte, in order
    notices = [line for line in result.stderr.splitlines() if str(aside) in line]
    assert len(notices) == 1 and "7 unreadable line(s)" in notices[0], result.stderr
    assert not pending.exists() and list(pending.parent.glob(pending.name + ".[0-9]*")) == []
    assert aside.stat().st_mode & 0o777 == 0o600
    assert route("costs", "--json").json()["pending"] == []
    again = _ask(route, fake_provider, "five")
    assert again.returncode == 0 and "unreadable" not in again.stderr  # said once; the file is not read again


def test_ledger_sync_sets_unreadable_lines_aside_too(route, home):
    pending = home / "data" / "ledger.sqlite3.pending.jsonl"
    pending.parent.mkdir(parents=True)
    pending.write_bytes(json.dumps(_row("one")).encode() + b"\n\xff\n")
    result = route("ledger", "sync")
    assert result.returncode == 0, result.stderr
    assert "sent 1 rows" in result.stdout and "1 unreadable line(s)" in result.stderr
    assert _ledger(home) == ["one"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_batch_claimed_by_a_run_that_died_is_imported(route, home, fake_provider):
    pending = home / "data" / "ledger.sqlite3.pending.jsonl"
    pending.parent.mkdir(parents=True)
    left = pending.with_name(f"{pending.name}.{_dead_pid()}")  # what an older route left on a line it could not read
    left.write_bytes(json.dumps(_row("left")).encode() + b"\n\xff\n")
    pending.write_bytes(json.dumps(_row("waiting")).encode() + b"\n")
    result = _ask(route, fake_provider)
    assert result.returncode == 0, result.stderr
    assert sorted(_ledger(home)[:2]) == ["left", "waiting"]
    assert not left.exists() and not pending.exists()


def test_a_batch_claimed_by_a_running_process_is_left_to_it(route, home, fake_provider):
    pending = home / "data" / "ledger.sqlite3.pending.jsonl"
    pending.parent.mkdir(parents=True)
    busy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claimed = pending.with_name(f"{pending.name}.{busy.pid}")
        claimed.write_bytes(json.dumps(_row("theirs")).encode() + b"\n")
        assert _ask(route, fake_provider).returncode == 0
        assert claimed.exists() and "theirs" not in _ledger(home)
    finally:
        busy.kill()
        busy.wait()


def test_a_failed_import_puts_its_batch_back_without_losing_rows_written_since(tmp_path):
    from routecli.waiting_lines import claim, put_back

    pending = tmp_path / "ledger.sqlite3.pending.jsonl"
    pending.write_bytes(b"first\n")
    claimed = claim(pending, pending)
    pending.write_bytes(b"written meanwhile\n")  # another run kept its rows pending after the claim
    put_back(claimed, pending)
    assert pending.read_bytes() == b"written meanwhile\nfirst\n" and not claimed.exists()


def test_unreadable_history_pending_lines_are_set_aside(route, home, fake_provider):
    from routecli.history.keep import pending_paths

    assert _ask(route, fake_provider, "kept before").returncode == 0
    waiting = ["0zzzzzzz", "0zzzzzzz", time.time(), "ask", None, "waiting prompt", "[]", "waiting reply", "ok",
               "mistral-small", "mistral", "mistral-small-2", 1, 1, "0.01", "chat", "seeded"]
    pending = pending_paths(home / "data" / "history.sqlite3")[0]
    pending.write_bytes(b"\xff\n" + json.dumps(waiting).encode() + b"\n[1]\n")
    result = _ask(route, fake_provider, "kept after")
    assert result.returncode == 0 and result.stdout == "kept after\n", result.stderr
    replies = [e["reply"] for e in route("log", "--json").json()]
    assert replies == ["kept before", "kept after", "waiting reply"]  # by id: the seeded id sorts last
    aside = pending.with_name(pending.name + ".unreadable")
    assert aside.read_bytes() == b"\xff\n[1]\n"
    notices = [line for line in result.stderr.splitlines() if str(aside) in line]
    assert len(notices) == 1 and "2 unreadable line(s)" in notices[0]
    assert not pending.exists()
