"""Output that cannot be written: a reader gone for every command (`route models | head`), a full disk, a closed
stdout or stderr; and a reply's escape sequences kept off a terminal. Real processes: only they have a pipe's
end to lose, a closed descriptor, a pseudo-terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import _clean_env, on_a_terminal, provider_env
from fakeprovider import Reply
from test_ledger import _rows

pytestmark = pytest.mark.process

ESCAPES = "plain \x1b[2J\x1b]0;owned\x07text\x1b[31m red\x9b1m end\x07\ttab"
SHOWN = "plain text red end\ttab"  # what a terminal may show of it


def _env(home, fake) -> dict[str, str]:
    env = _clean_env(home)
    env.update(provider_env(fake))
    return env


def _run(env: dict[str, str], *args: str, **streams) -> subprocess.CompletedProcess[bytes]:
    streams.setdefault("stdout", subprocess.PIPE)
    streams.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "routecli", *args], stdin=subprocess.DEVNULL, env=env,
                          timeout=60, **streams)


def _into_a_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails with EPIPE
    try:
        return _run(env, *args, stdout=write_end)
    finally:
        os.close(write_end)


def _history(env: dict[str, str]) -> str:
    return _run(env, "log").stdout.decode()


@pytest.mark.parametrize("args", [("models",), ("explain", "hello there!"), ("stats",), ("log",)])
def test_every_command_into_a_closed_pipe_is_exit_141_quietly(home, fake_provider, args):
    result = _into_a_closed_pipe(_env(home, fake_provider), *args)
    assert result.returncode == 141, result.stderr.decode()
    assert result.stderr == b""  # no "Exception ignored ... BrokenPipeError"


@pytest.mark.parametrize("mode", [(), ("--no-stream",)])
def test_a_reply_into_a_full_disk_is_141_with_one_line_and_everything_recorded(home, fake_provider, mode):
    env = _env(home, fake_provider)
    with open("/dev/full", "w") as full:
        result = _run(env, "ask", "hello there!", *mode, stdout=full)
    stderr = result.stderr.decode()
    assert result.returncode == 141, stderr
    assert "route: error: cannot write the reply (No space left on device); the call is recorded\n" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert [row["status"] for row in _rows(home)] in (["ok"], ["interrupted"])  # settled, not in flight
    assert "> hello there!" in _history(env)


def test_a_closed_stdout_is_141_and_the_call_recorded(home, fake_provider):
    env = _env(home, fake_provider)
    result = _run(env, "ask", "hello there!", stdout=None, preexec_fn=lambda: os.close(1))
    stderr = result.stderr.decode()
    assert result.returncode == 141, stderr
    assert "cannot write the reply (stdout is closed)" in stderr and "internal error" not in stderr
    assert [row["status"] for row in _rows(home)] in (["ok"], ["interrupted"])
    assert "> hello there!" in _history(env)


def test_a_report_into_a_full_disk_is_141_with_one_line(home, fake_provider):
    with open("/dev/full", "w") as full:
        result = _run(_env(home, fake_provider), "models", stdout=full)
    assert result.returncode == 141
    assert result.stderr.decode() == "route: error: cannot write the output (No space left on device)\n"


@pytest.mark.parametrize("stderr", ["full", "closed"])
def test_a_stderr_that_fails_never_stops_the_reply_or_the_ledger(home, fake_provider, stderr):
    fake_provider.script("anthropic", Reply(text="the reply"))
    env = _env(home, fake_provider)
    with open("/dev/full", "w") as full:
        if stderr == "full":
            result = _run(env, "ask", "hello there!", "-u", "-v", stderr=full)
        else:
            result = _run(env, "ask", "hello there!", "-u", "-v", stderr=None, preexec_fn=lambda: os.close(2))
    assert result.returncode == 0
    assert result.stdout == b"the reply\n"
    assert [row["status"] for row in _rows(home)] == ["ok"]


# --- 7. escape sequences from a provider -------------------------------------------------------------------


def _on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run with stdout on a pseudo-terminal (stderr a pipe); what the terminal received."""
    code, shown = on_a_terminal(env, *args)
    return code, shown.replace("\r\n", "\n")


def test_a_terminal_gets_no_escape_sequences_from_a_reply_but_a_pipe_gets_every_byte(home, fake_provider):
    env = _env(home, fake_provider)
    fake_provider.script("anthropic", Reply(text=ESCAPES, chunks=4), Reply(text=ESCAPES, chunks=4))
    code, shown = _on_a_terminal(env, "ask", "hello there!", "--batch")
    assert code == 0
    assert shown == SHOWN + "\n"
    piped = _run(env, "ask", "hello there!")
    assert piped.returncode == 0 and piped.stdout.decode() == ESCAPES + "\n"  # byte-exact to a pipe


def test_the_history_shown_on_a_terminal_has_no_escape_sequences(home, fake_provider):
    env = _env(home, fake_provider)
    fake_provider.script("anthropic", Reply(text=ESCAPES))
    assert _run(env, "ask", "hello there!").returncode == 0
    code, listing = _on_a_terminal(env, "log")
    assert code == 0 and "\x1b" not in listing and "\x07" not in listing and "< plain text red end tab" in listing
    exchange = listing.split()[0]
    code, shown = _on_a_terminal(env, "log", "show", exchange)
    assert code == 0 and shown.endswith("reply:\n" + SHOWN + "\n")
    assert ESCAPES in _run(env, "log", "show", exchange).stdout.decode()  # a pipe still gets what was kept
