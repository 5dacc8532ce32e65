"""`route chat` from a pipe reads its lines under the rules `route ask` applies to stdin: binary input is refused
before any turn is sent (exit 3), text that is not UTF-8 is read as Latin-1 with the one notice ask gives."""

from __future__ import annotations

import os

from conftest import provider_env
from fakeprovider import Reply


def _sent(fake) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake.requests if r.method == "POST"]


def test_nul_bytes_piped_to_chat_are_refused_before_any_turn(route, fake_provider):
    result = route("chat", input=b"a\0b\n", env=provider_env(fake_provider))
    assert result.returncode == 3
    assert result.stderr == "route: error: stdin: binary input (NUL bytes); route only sends text\n"
    assert result.stdout == "" and fake_provider.requests == []


def test_random_bytes_piped_to_chat_are_refused_before_any_turn(route, fake_provider):
    noise = os.urandom(3000).replace(b"\0", b"\1")  # no NUL at all: refused for its control characters alone
    result = route("chat", input=b"hello\n" + noise, env=provider_env(fake_provider))  # even after a text line
    assert result.returncode == 3
    assert result.stderr == "route: error: stdin: binary input (not text); route only sends text\n"
    assert fake_provider.requests == []


def test_latin1_piped_to_chat_is_decoded_with_ask_s_one_notice(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="oui"), Reply(text="non"))
    result = route("chat", "-m", "claude-haiku", input=b"caf\xe9\nna\xefve\n", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "oui\nnon\n"
    assert result.stderr.count("route: stdin: not valid UTF-8, decoded as Latin-1\n") == 1  # once a session
    assert _sent(fake_provider)[0] == "café" and _sent(fake_provider)[-1] == "naïve"


def test_utf8_lines_and_crlf_are_read_as_before(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="one"), Reply(text="two"))
    result = route("chat", "-m", "claude-haiku", input="crème brûlée\r\n\r\nsecond\n".encode(),
                   env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert "Latin-1" not in result.stderr
    assert _sent(fake_provider)[0] == "crème brûlée" and _sent(fake_provider)[-1] == "second"


def test_a_binary_line_later_in_the_pipe_ends_the_session_with_exit_3(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="first"))
    result = route("chat", "-m", "claude-haiku", input=b"hello\n" + b"x" * 70000 + b"\nzz\0z\nnever\n",
                   env=provider_env(fake_provider))
    assert result.returncode == 3
    assert "stdin: binary input (NUL bytes)" in result.stderr
    assert all("never" not in text for text in _sent(fake_provider))


def test_utf16_piped_to_chat_is_read_whole_with_its_notice(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="a"), Reply(text="b"))
    result = route("chat", "-m", "claude-haiku", input="first\nsecond\n".encode("utf-16"),
                   env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert "decoded as UTF-16" in result.stderr
    assert _sent(fake_provider)[-1] == "second"


def test_a_piped_line_over_the_input_limit_is_refused(route, fake_provider, monkeypatch):
    from routecli.run import piped

    monkeypatch.setattr(piped, "MAX_INPUT_BYTES", 1 << 20)
    result = route("chat", input=b"y" * (3 << 20), env=provider_env(fake_provider))  # `yes | tr -d '\n'`: no line end
    assert result.returncode == 3
    assert result.stderr == "route: error: stdin: a line larger than 1 MiB, the most route reads of one input\n"
    assert fake_provider.requests == []
