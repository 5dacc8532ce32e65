"""`route cooldowns` lists what route skips after a failure, and `route cooldowns clear [ALIAS]` lifts it
(issue 9, point 18)."""

from __future__ import annotations

import pytest
from conftest import provider_env
from fakeprovider import Fault
from test_completion import bash_complete, shell_env  # noqa: F401 - the fixture is used by name

from routecli.cli.completion import complete_cooling
from routecli.ledger import cooldowns

GREETING = "hello there!"


def _file(home):
    return home / "state" / "cooldowns.json"


def _seed(home) -> None:
    cooldowns.add(_file(home), "provider:anthropic", 90, "529 overloaded")
    cooldowns.add(_file(home), "model:mistral-medium", 600, "429 rate_limited")
    cooldowns.add(_file(home), "model:gpt-mini", 4000, "429 rate_limited")


def test_a_real_failure_is_listed_with_alias_provider_reason_and_time_left(route, home, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Fault("529"))
    assert route("ask", GREETING, env=env).returncode == 0  # claude-haiku fails, the provider cools down
    rows = route("cooldowns", "--json").json()
    assert [(r["key"], r["alias"], r["provider"]) for r in rows] == [("provider:anthropic", None, "anthropic")]
    assert "529" in rows[0]["reason"] and 0 < rows[0]["seconds_left"] <= 60 and rows[0]["until"]
    table = route("cooldowns", env={"COLUMNS": "80"})
    assert table.returncode == 0 and table.stderr == ""
    line = next(line for line in table.stdout.splitlines() if "anthropic" in line)
    assert "(all its models)" in line and "529 overloaded" in line and line.rstrip().endswith("s")


def test_listing_is_sorted_names_the_provider_and_fits_80_columns(route, home):
    assert route("cooldowns").stdout.strip() == "No cooldowns in force."
    assert route("cooldowns", "--json").json() == []
    _seed(home)
    rows = route("cooldowns", "--json").json()
    assert [r["alias"] for r in rows] == [None, "mistral-medium", "gpt-mini"]  # soonest over first
    assert [r["provider"] for r in rows] == ["anthropic", "mistral", "openai"]
    table = route("cooldowns", env={"COLUMNS": "80"}).stdout.splitlines()
    assert all(len(line) <= 80 for line in table), table
    assert "1h 06m" in table[3] or "1h 07m" in table[3]  # 4000 s
    assert "10m 00s" in table[2] or "9m 59s" in table[2]


def test_clear_one_alias_lifts_its_own_and_its_providers_cooldown(route, home):
    _seed(home)
    cooldowns.add(_file(home), "model:claude-haiku", 600, "401 auth")
    result = route("cooldowns", "clear", "claude-haiku")
    assert result.returncode == 0, result.stderr
    assert "model:claude-haiku" in result.stdout and "provider:anthropic" in result.stdout
    assert set(cooldowns.load(_file(home))) == {"model:mistral-medium", "model:gpt-mini"}
    explain = route("explain", GREETING, "--json", env={"ANTHROPIC_API_KEY": "sk-ant-x"}).json()
    haiku = next(c for c in explain["candidates"] if c["alias"] == "claude-haiku")
    assert "cooling" not in haiku["why"]
    again = route("cooldowns", "clear", "claude-haiku")
    assert again.returncode == 0 and "no cooldown in force for claude-haiku" in again.stdout


def test_clear_a_provider_name_and_then_everything(route, home):
    _seed(home)
    assert route("cooldowns", "clear", "anthropic").returncode == 0
    assert set(cooldowns.load(_file(home))) == {"model:mistral-medium", "model:gpt-mini"}
    result = route("cooldowns", "clear")
    assert result.returncode == 0 and "cleared 2 cooldown(s)" in result.stdout
    assert cooldowns.load(_file(home)) == {}


def test_a_model_no_longer_in_the_policy_can_still_be_cleared(route, home):
    cooldowns.add(_file(home), "model:ollama/llama3.2:3b", 60, "connect_error")  # a discovered local model
    result = route("cooldowns", "clear", "ollama/llama3.2:3b")
    assert result.returncode == 0 and cooldowns.load(_file(home)) == {}


def test_unknown_alias_is_one_line_and_exit_2(route, home):
    _seed(home)
    result = route("cooldowns", "clear", "claude-haikuu")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "unknown model or provider 'claude-haikuu'" in result.stderr
    assert len(cooldowns.load(_file(home))) == 3  # nothing cleared


def test_a_cooldowns_file_that_cannot_be_written_is_one_line_and_exit_3(route, home, monkeypatch):
    _seed(home)

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("routecli.ledger.cooldowns.write_private", full_disk)
    result = route("cooldowns", "clear")
    assert result.returncode == 3, result
    assert result.stderr.count("\n") == 1 and "cannot write the cooldowns file" in result.stderr
    assert "No space left on device" in result.stderr


def test_completion_offers_what_is_cooling_down(home):
    assert complete_cooling(None, "") == []
    _seed(home)
    assert {name for name, _ in complete_cooling(None, "")} == {"anthropic", "mistral-medium", "gpt-mini"}
    assert [name for name, _ in complete_cooling(None, "mis")] == ["mistral-medium"]


@pytest.mark.process
def test_bash_completes_the_command_and_the_cooling_aliases(shell_env, home):  # noqa: F811
    assert bash_complete(shell_env, "cool")[0] == ["cooldowns"]
    assert bash_complete(shell_env, "cooldowns", "cl")[0] == ["clear"]
    _seed(home)
    found, errors = bash_complete(shell_env, "cooldowns", "clear", "")
    assert set(found) == {"anthropic", "mistral-medium", "gpt-mini"} and errors == ""


def test_a_broken_policy_does_not_stop_listing_or_clearing(route, home):
    _seed(home)
    (home / "config").mkdir()
    (home / "config" / "routes.yaml").write_text("models: [unclosed\n")
    listed = route("cooldowns", "--json")
    assert listed.returncode == 0 and "cannot be read" in listed.stderr and "routes.yaml:" in listed.stderr
    assert [r["provider"] for r in listed.json()] == ["anthropic", None, None]  # models unmatched, still listed
    cleared = route("cooldowns", "clear", "mistral-medium")
    assert cleared.returncode == 0 and "model:mistral-medium" in cleared.stdout
    assert route("cooldowns", "clear").returncode == 0 and cooldowns.load(_file(home)) == {}
