"""`route chat` in a real pseudo-terminal: typed turns, streamed replies, Ctrl-C stopping one reply and not the
session, a second Ctrl-C at the prompt leaving. Real processes (pty.fork), against the fake provider."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Reply

PROMPT = "› ".encode()
WAIT = 60  # seconds: generous, the machine is shared and slow; nothing here measures time
# A person presses Ctrl-C at a prompt some time after it shows. CPython's readline misses a SIGINT that lands
# while input() is still entering readline (its select() starts after the signal: the KeyboardInterrupt comes
# only with the next key), so a Ctrl-C typed the instant the prompt is drawn can hang the test, not a person.
PERSON = 0.5


class Terminal:
    """`route chat` on the far side of a pty: type into it, read what it shows."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: a new session whose controlling terminal is the pty, so ^C is SIGINT
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "routecli", "chat", *args], env)
        self.pid, self.fd = pid, fd
        self.seen = b""

    def read_until(self, wanted: bytes, after: int = 0) -> bytes:
        """Everything shown so far, once `wanted` appears after position `after`; fails after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while wanted not in self.seen[after:]:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {wanted!r}; the terminal shows:\n{self.seen.decode(errors='replace')}"
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child has gone: the pty reports EIO
                    chunk = b""
                assert chunk, f"the session ended before {wanted!r}:\n{self.seen.decode(errors='replace')}"
                self.seen += chunk
        return self.seen

    def type(self, text: str | bytes) -> int:
        """Type into the terminal; returns where the output stood, to read what follows."""
        os.write(self.fd, text.encode() if isinstance(text, str) else text)
        return len(self.seen)

    def exit_code(self) -> int:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with _ignore_eio():
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if ready:
                    self.seen += os.read(self.fd, 4096)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"route chat did not exit:\n{self.seen.decode(errors='replace')}")


class _ignore_eio:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, tb: object) -> bool:
        return isinstance(error, OSError)


@pytest.fixture
def terminal_env(home: Path, fake_provider) -> dict[str, str]:
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    env["TERM"] = "dumb"
    return env


@pytest.mark.process
def test_chat_answers_two_turns_in_a_terminal(home, fake_provider, terminal_env):
    fake_provider.script("anthropic", Reply(text="Hello Zed."), Reply(text="Your name is Zed."))
    chat = Terminal(terminal_env, home.parent)
    chat.read_until(PROMPT)
    mark = chat.type("my name is Zed\n")
    chat.read_until(b"Hello Zed.", mark)
    chat.read_until(b"session $", mark)  # the status line of the turn
    chat.read_until(PROMPT, mark)
    mark = chat.type("what is my name?\n")
    chat.read_until(b"Your name is Zed.", mark)
    chat.read_until(PROMPT, mark)
    chat.type("!exit\n")
    assert chat.exit_code() == 0
    assert [len(r.body["messages"]) for r in fake_provider.requests] == [1, 3]
    assert b"Traceback" not in chat.seen and b"fallbacks:" not in chat.seen  # a status line, not the panel


@pytest.mark.process
def test_ctrl_c_stops_the_reply_not_the_session(home, fake_provider, terminal_env):
    words = " ".join(f"word{i}" for i in range(30))
    fake_provider.script("anthropic", Reply(text=words, chunks=30, chunk_delay=0.4), Reply(text="Still here."))
    chat = Terminal(terminal_env, home.parent)
    chat.read_until(PROMPT)
    mark = chat.type("tell me a long story\n")
    chat.read_until(b"word1", mark)  # the reply is streaming: interrupt it by a keypress, not by the clock
    mark = chat.type(b"\x03")
    chat.read_until(b"interrupted", mark)
    chat.read_until(PROMPT, mark)
    mark = chat.type("are you there?\n")
    chat.read_until(b"Still here.", mark)
    chat.read_until(PROMPT, mark)
    time.sleep(PERSON)
    chat.type(b"\x03")  # at the prompt: once says how to leave, twice leaves
    seen = chat.read_until(b"Ctrl-C again", mark)
    chat.read_until(PROMPT, seen.index(b"Ctrl-C again", mark))  # as a person would: at the next prompt
    time.sleep(PERSON)
    chat.type(b"\x03")
    assert chat.exit_code() == 130
    assert b"Traceback" not in chat.seen
    conn = sqlite3.connect(home / "data" / "history.sqlite3")
    kept = conn.execute("SELECT status, reply FROM exchanges ORDER BY id").fetchall()
    assert [status for status, _ in kept] == ["interrupted", "ok"]
    assert kept[0][1].startswith("word0") and kept[0][1] != words  # the partial reply, kept
    statuses = sqlite3.connect(home / "data" / "ledger.sqlite3").execute(
        "SELECT status FROM attempts ORDER BY id").fetchall()
    assert statuses == [("interrupted",), ("ok",)]
    # the next turn was sent the partial reply as the assistant's earlier turn
    last = fake_provider.requests[-1].body["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user"] and last[1]["content"] == kept[0][1]


@pytest.mark.process
def test_an_interrupted_ask_keeps_its_partial_reply_in_the_history(home, fake_provider, route_process):
    import subprocess

    words = " ".join(f"word{i}" for i in range(12))
    fake_provider.script("anthropic", Reply(text=words, chunks=12, chunk_delay=0.4))
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    proc = subprocess.Popen([sys.executable, "-m", "routecli", "ask", "hello there!"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    first = proc.stdout.read1(4096)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 130, err.decode()
    [kept] = json.loads(route_process("log", "--json").stdout)
    assert kept["status"] == "interrupted" and kept["reply"] == (first + rest).decode()


@pytest.mark.process
def test_a_chat_typed_on_a_terminal_with_stdout_redirected_writes_only_replies(home, fake_provider, terminal_env):
    """`route chat > transcript.txt`: the prompt, banner and status lines stay on the terminal (stderr)."""
    import subprocess

    fake_provider.script("anthropic", Reply(text="Hello Zed."), Reply(text="Bye."))
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "routecli", "chat"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=slave, env=terminal_env, cwd=home.parent)
    os.close(slave)
    shown = b""
    for turn, line in enumerate((b"my name is Zed\n", b"bye\n", b"!exit\n")):
        deadline = time.monotonic() + WAIT
        while shown.count(PROMPT) <= turn:  # type each line at its own prompt
            assert time.monotonic() < deadline, shown.decode(errors="replace")
            if select.select([master], [], [], 0.5)[0]:
                shown += os.read(master, 4096)
        os.write(master, line)
    out, _ = proc.communicate(timeout=WAIT)
    os.close(master)
    assert proc.returncode == 0
    assert out == b"Hello Zed.\nBye.\n"
