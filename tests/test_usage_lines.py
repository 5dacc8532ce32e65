"""Usage mistakes a stranger makes (an option that does not exist, a value out of range, a command that does not
exist) are one line on stderr, `route: error: <what> (see <command> --help)`, exit 2, for every command; the help
itself is unchanged."""

from __future__ import annotations

import pytest

MISTAKES = [
    (("ask", "hi", "--max-cost", "-1"), "Invalid value for '--max-cost'", "ask"),
    (("ask", "--bogus"), "No such option: --bogus", "ask"),
    (("nosuchcmd",), "No such command 'nosuchcmd'", ""),
    (("--bogus",), "No such option: --bogus", ""),
    (("policy", "nosuch"), "No such command 'nosuch'", "policy"),
    (("policy", "validate", "a", "b"), "unexpected extra argument", "policy validate"),
    (("log", "-n", "many"), "Invalid value for '--count'", "log"),
]


@pytest.mark.parametrize(("args", "what", "command"), MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_a_usage_mistake_is_one_line_naming_the_help_to_read(route, args, what, command):
    result = route(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("route: error: ") and what in lines[0], lines[0]
    assert lines[0].endswith(f"(see python -m routecli{' ' + command if command else ''} --help)")


@pytest.mark.parametrize("args", [(), ("policy",), ("--help",), ("ask", "--help")], ids=lambda a: " ".join(a) or "none")
def test_the_help_is_still_the_help(route, args):
    result = route(*args)
    assert "Usage: python -m routecli" in result.stdout + result.stderr
    assert "route: error" not in result.stderr
