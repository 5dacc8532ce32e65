"""How a route process ends when it is cut short from outside: a reader that goes away (`route ask ... | head -1`)
and Ctrl-C outside a model call. Real processes: only they have a pipe's end to lose and a signal to receive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Reply
from test_ledger import _rows


def _ask_into_a_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "routecli", "ask", "hello there!", *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.process
@pytest.mark.parametrize(
    ("mode", "status"),
    [("stream", "interrupted"), ("no-stream", "ok")],  # streaming stops at the first write; else the reply is whole
)
def test_a_closed_stdout_is_exit_141_and_the_call_is_recorded(home, fake_provider, mode, status):
    fake_provider.script("anthropic", Reply(text="one two three four", chunks=4))
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    result = _ask_into_a_closed_pipe(env, *(["--no-stream"] if mode == "no-stream" else []))
    stderr = result.stderr.decode()
    assert result.returncode == 141, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    rows = _rows(home)
    assert [(row["alias"], row["status"]) for row in rows] == [("claude-haiku", status)], rows  # paid for: recorded


@pytest.mark.process
def test_ctrl_c_while_reading_stdin_is_exit_130_without_a_traceback(home):
    proc = subprocess.Popen(
        [sys.executable, "-m", "routecli", "explain", "hi"],
        stdin=subprocess.PIPE,  # left open: route waits for the rest of its input
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_clean_env(home),
    )
    time.sleep(1.5)  # started and blocked on stdin (an interrupt during start-up would test nothing else)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()
    assert out == b"" and b"Traceback" not in err, err.decode()
