"""Every way a run ends records what was sent (issue 9, point 10): Ctrl-C, SIGTERM and SIGHUP, during a streaming
reply or a map-reduce, and even SIGKILL, which leaves the attempt written ahead of its request (in flight, at its
worst-case estimate; `route costs` calls it unsettled). Real processes: only they receive signals."""

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
from conftest import _clean_env, provider_env
from fakeprovider import Fault, Reply
from test_mapreduce import CHUNKED, _document

GREETING = "hello there!"  # chat: claude-haiku first


def _rows(home: Path) -> list[dict]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute("SELECT * FROM attempts ORDER BY id")]


def _start(home: Path, fake, *args: str, stdin: Path | None = None) -> subprocess.Popen:
    env = _clean_env(home)
    env.update(provider_env(fake))
    return subprocess.Popen(
        [sys.executable, "-m", "routecli", *args],
        env=env,
        stdin=stdin.open("rb") if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=home.parent,
    )


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.process
@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_term_and_hup_mid_stream_keep_the_reply_and_record_it(home, fake_provider, signum, code, name):
    fake_provider.script("anthropic", Reply(text="a b c d e f g h", chunks=8, chunk_delay=0.4))
    proc = _start(home, fake_provider, "ask", GREETING)
    assert proc.stdout is not None
    first = proc.stdout.read1(4096)  # the reply has begun: now stop it, as `timeout` or a closed terminal would
    proc.send_signal(signum)
    rest, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err.decode()
    assert first and (first + rest).decode().startswith("a")
    assert b"Traceback" not in err and f"stopped by {name}; the partial reply above is kept".encode() in err
    (row,) = _rows(home)
    assert row["status"] == "interrupted" and row["error"] == f"stopped by {name}"
    assert row["usage_estimated"] == 1 and row["output_tokens"] > 0 and Decimal(row["cost_usd"]) > 0


@pytest.mark.process
def test_ctrl_c_before_any_text_does_not_claim_a_partial_reply(home, fake_provider):
    fake_provider.script("anthropic", Fault("hang"))
    proc = _start(home, fake_provider, "ask", GREETING)
    _wait_for(lambda: len(fake_provider.requests_for("anthropic")) == 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()
    assert out == b"" and b"interrupted" in err and b"kept" not in err
    (row,) = _rows(home)
    assert row["status"] == "interrupted"


@pytest.mark.process
def test_sigkill_leaves_the_call_in_the_ledger_at_its_estimate_and_costs_says_unsettled(
    home, fake_provider, route
):
    fake_provider.script("anthropic", Reply(text="a b c d e f g h", chunks=8, chunk_delay=0.5))
    proc = _start(home, fake_provider, "ask", GREETING)
    assert proc.stdout is not None
    proc.stdout.read1(4096)  # the request was sent and the reply has begun
    proc.kill()
    proc.communicate(timeout=20)
    (row,) = _rows(home)
    assert row["status"] == "in_flight" and row["usage_estimated"] == 1
    assert row["alias"] == "claude-haiku" and row["attempt_id"]
    assert row["output_tokens"] > 100 and Decimal(row["cost_usd"]) > 0  # the whole output reserve: the worst case
    costs = route("costs")
    assert costs.returncode == 0, costs.stderr
    assert "1 call(s) unsettled" in costs.stdout
    data = route("costs", "--json").json()
    unsettled = data["unsettled"]
    assert unsettled["calls"] == 1 and unsettled["estimated_cost_usd"] == float(Decimal(row["cost_usd"]))
    assert data["total"]["cost_usd"] == data["unsettled"]["estimated_cost_usd"]  # budgets count it too


@pytest.mark.process
def test_ctrl_c_during_a_map_reduce_records_every_chunk_request_sent(home, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(CHUNKED)
    fake_provider.script("mistral", *[Reply(text="partial", chunks=4, chunk_delay=3.0)] * 40)
    document = tmp_path / "big.txt"
    document.write_text(_document(600_000))
    proc = _start(home, fake_provider, "summarize", "--policy", str(policy), stdin=document)
    _wait_for(lambda: len(fake_provider.requests_for("mistral")) >= 3)  # the first three chunks are in flight
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - started < 10  # the running chunk calls were stopped, not waited for
    assert b"Traceback" not in err and b"kept" not in err and out == b""
    sent = len(fake_provider.requests_for("mistral"))
    rows = _rows(home)
    assert len(rows) == sent >= 3  # one row per request that left, none for chunks never started
    assert {row["status"] for row in rows} == {"interrupted"}
    assert all(row["stage"].startswith("map ") and Decimal(row["cost_usd"]) > 0 for row in rows)


def test_rows_written_ahead_wait_in_the_pending_file_and_settle_on_import(route, fake_provider, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    env = provider_env(fake_provider, ROUTE_HOME=str(blocker))
    fake_provider.script("mistral", Reply(text="the reply"))
    result = route("ask", "hi", "-m", "mistral-small", env=env)
    assert result.returncode == 8 and result.stdout == "the reply\n"
    pending = Path(route("paths", "--json", env=env).json()["ledger_pending"])
    lines = [json.loads(line) for line in pending.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["in_flight", "ok"]  # written ahead, then settled
    assert lines[0]["attempt_id"] == lines[1]["attempt_id"]
    assert route("costs", "--json", env=env).json()["pending"] == [{"path": str(pending), "rows": 1}]
    killed = {**lines[0], "attempt_id": "killed-before-settling"}  # what a SIGKILLed run leaves there
    with pending.open("a") as handle:
        handle.write(json.dumps(killed) + "\n")

    blocker.unlink()  # the ledger can be written again: the next run imports the pending rows
    assert route("ask", "hi again", "-m", "mistral-small", env=env).returncode == 0
    rows = _rows(blocker)
    assert [(row["status"], row["attempt_id"]) for row in rows[:2]] == [
        ("ok", lines[0]["attempt_id"]),
        ("in_flight", "killed-before-settling"),
    ]
    assert rows[2]["status"] == "ok" and len(rows) == 3 and not pending.exists()


def _handles(pid: int, signum: int) -> bool:
    """The process has installed its own handler for `signum` (Linux: SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


@pytest.mark.process
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc to know the handlers are in place")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_term_and_hup_before_any_call_exit_143_and_129(home, signum, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "routecli", "explain", "hi"],
        stdin=subprocess.PIPE,  # left open: route waits for the rest of its input
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_clean_env(home),
    )
    _wait_for(lambda: _handles(proc.pid, signum))
    time.sleep(0.3)  # blocked on stdin
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err.decode()
    assert out == b"" and b"Traceback" not in err, err.decode()


@pytest.mark.process
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_term_and_hup_end_a_chat_not_only_its_reply(home, fake_provider, tmp_path, signum, code):
    """Ctrl-C stops one reply of `route chat`; SIGTERM and SIGHUP stop the session (a script's timeout, a closed
    terminal), whether a reply is streaming or not, and the turn that was stopped is recorded."""
    fake_provider.script("anthropic", Reply(text="a b c d e f g h", chunks=8, chunk_delay=0.4),
                         Reply(text="second"), Reply(text="third"))
    turns = tmp_path / "turns.txt"
    turns.write_text("hello there\nand again\nonce more\n")
    proc = _start(home, fake_provider, "chat", "-m", "claude-haiku", stdin=turns)
    assert proc.stdout is not None
    proc.stdout.read1(4096)  # the first reply has begun
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err.decode()
    assert b"second" not in out and len(fake_provider.requests_for("anthropic")) == 1, err.decode()
    assert [row["status"] for row in _rows(home)] == ["interrupted"]
