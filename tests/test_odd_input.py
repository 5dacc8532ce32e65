"""Input a stranger throws at route: argument bytes that are not UTF-8, NUL bytes and endless input, odd numbers
on the command line, a Retry-After from the far future. Each ends with a one-line message and its exit code,
never a traceback, and nothing recorded is left in flight."""

from __future__ import annotations

import email.utils
import json
import subprocess
import sys
import time

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Fault, Reply
from test_ledger import _rows

from routecli.routing import inputs
from routecli.run.failures import MAX_COOLDOWN

LATIN1_ARGUMENT = "caf\udce9 \udcff"  # what Python makes of the argument bytes b"caf\xe9 \xff"


def _settled(home) -> list[str]:
    return [row["status"] for row in _rows(home)]


def _user_text(fake) -> str:
    """The last prompt sent, whichever provider took it."""
    body = [r for r in fake.requests if r.method == "POST"][-1].body
    return json.dumps(body, ensure_ascii=False)


# --- 1. argument bytes that are not UTF-8 ------------------------------------------------------------------


def test_a_latin1_prompt_argument_is_read_as_latin1_with_a_notice(route, home, fake_provider):
    fake_provider.script("anthropic", Reply(text="ok"))
    result = route("ask", LATIN1_ARGUMENT, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
    assert "the prompt argument: not valid UTF-8, decoded as Latin-1" in result.stderr
    assert "café ÿ" in _user_text(fake_provider)
    assert _settled(home) == ["ok"]  # no row left in flight at its worst case


def test_stray_bytes_among_utf8_become_replacement_characters(route, fake_provider):
    result = route("ask", "naïve \udcff", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert "undecodable bytes replaced" in result.stderr
    assert "naïve \ufffd" in _user_text(fake_provider)


def test_a_system_prompt_that_is_not_utf8_is_read_as_latin1(route, home, fake_provider):
    result = route("ask", "hello there!", "--system", "r\udce9ponds", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert "--system: not valid UTF-8, decoded as Latin-1" in result.stderr
    assert "réponds" in _user_text(fake_provider)
    assert _settled(home) == ["ok"]


@pytest.mark.process
def test_a_real_non_utf8_argv_is_not_a_traceback(home, fake_provider):
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    done = subprocess.run(
        [sys.executable, "-m", "routecli", "ask", b"caf\xe9 \xff"], env=env, capture_output=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"internal error" not in done.stderr


def test_a_file_name_that_is_not_utf8_is_read_and_shown_with_replacement_characters(route, home, fake_provider):
    (home.parent / b"bad\xffname.txt".decode("utf-8", "surrogateescape")).write_text("attached words")
    result = route("ask", "read this", "-f", "bad\udcffname.txt", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    sent = _user_text(fake_provider)
    assert "--- bad\ufffdname.txt ---" in sent and "attached words" in sent
    missing = route("ask", "read this", "-f", "gone\udcff.txt", env=provider_env(fake_provider))
    assert missing.returncode == 3
    assert missing.stderr == "route: error: gone\ufffd.txt: no such file\n"


def test_log_query_that_is_not_utf8_searches_without_a_traceback(route, fake_provider):
    assert route("ask", "café au lait", env=provider_env(fake_provider)).returncode == 0
    result = route("log", "-q", "caf\udce9")
    assert result.returncode == 0, result.stderr
    assert "café au lait" in result.stdout
    assert "--query: not valid UTF-8, decoded as Latin-1" in result.stderr


# --- 2. NUL bytes and endless input ------------------------------------------------------------------------


def test_dev_zero_is_refused_from_its_first_chunk(route, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 4 << 20)  # without the first-chunk check: "larger than"
    result = route("explain", "x", "-f", "/dev/zero")
    assert result.returncode == 3
    assert result.stderr == "route: error: /dev/zero: binary input (NUL bytes); route only sends text\n"


def test_nul_bytes_on_stdin_are_refused(route, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 1 << 20)
    result = route("explain", "x", input=b"\0" * (2 << 20))
    assert result.returncode == 3
    assert "stdin: binary input (NUL bytes)" in result.stderr


def test_utf16_text_with_its_nul_bytes_is_still_read(route, tmp_path):
    (tmp_path / "u16.txt").write_bytes("hello in utf-16".encode("utf-16"))
    result = route("explain", "x", "-f", "u16.txt")
    assert result.returncode == 0, result.stderr
    assert "decoded as UTF-16" in result.stderr


@pytest.mark.parametrize("where", ["stdin", "file"])
def test_input_over_the_limit_is_refused_naming_the_limit(route, tmp_path, monkeypatch, where):
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 2 << 20)
    text = b"y\n" * (1536 << 10)  # 3 MiB of text, no NUL: an endless `yes` pipe, cut short
    if where == "file":
        (tmp_path / "big.txt").write_bytes(text)
        result = route("explain", "x", "-f", "big.txt")
    else:
        result = route("explain", "x", input=text)
    assert result.returncode == 3, result.stderr
    name = "big.txt" if where == "file" else "stdin"
    assert result.stderr == f"route: error: {name}: larger than 2 MiB, the most route reads of one input\n"


def test_the_documented_limit_is_512_mib():
    assert inputs.MAX_INPUT_BYTES == 512 << 20


# --- 3. numbers on the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_max_cost_must_be_a_finite_amount(route, value):
    result = route("explain", "hi", f"--max-cost={value}")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "--max-cost" in result.stderr


def test_log_count_beyond_sqlite_integers_means_all(route, fake_provider):
    assert route("ask", "one", env=provider_env(fake_provider)).returncode == 0
    result = route("log", "-n", "99999999999999999999")
    assert result.returncode == 0, result.stderr
    assert "> one" in result.stdout


# --- 6. Retry-After from the far future --------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [99999999, email.utils.formatdate(4102444800, usegmt=True)])  # 2100
def test_a_huge_retry_after_cools_a_model_down_an_hour_at_most(route, fake_provider, retry_after):
    fake_provider.script("anthropic", Fault("429", retry_after=retry_after))
    start = time.monotonic()
    result = route("ask", "hello there!", "--json", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 30  # fell back at once rather than waiting
    rows = route("cooldowns", "--json").json()
    haiku = next(r for r in rows if r["alias"] == "claude-haiku")
    assert 0 < haiku["seconds_left"] <= MAX_COOLDOWN
    assert MAX_COOLDOWN == 3600
