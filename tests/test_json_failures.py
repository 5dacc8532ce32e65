"""`route ask|summarize --json` prints one JSON object whatever failed, in the shape an exit-7 failure prints,
with the error; the one error line on stderr and the exit code stay as they are."""

from __future__ import annotations

import json

import pytest
from conftest import provider_env
from fakeprovider import Fault


def _exit_7_keys(route, fake_provider) -> set[str]:
    for flavor in ("anthropic", "mistral", "openai", "moonshot", "gemini"):
        fake_provider.script(flavor, *[Fault("401")] * 3)
    failed = route("ask", "hi", "-m", "claude-haiku", "--json", env=provider_env(fake_provider))
    assert failed.returncode == 7, failed.stderr
    return set(failed.json())


FAILURES = [
    (("ask", "hi", "--json", "--max-cost", "0"), None, 6, "refused by budget"),
    (("ask", "hi", "--json", "--max-cost", "-1"), None, 2, "Invalid value for '--max-cost'"),
    (("ask", "hi", "--json", "-m", "no-such-model"), None, 2, "no-such-model"),
    (("ask", "--json"), b"", 3, "empty prompt"),
    (("summarize", "--json"), b"a\0b", 3, "binary input"),
    (("ask", "--json", "hi", "-f", "missing.txt"), None, 3, "missing.txt: no such file"),
]


@pytest.mark.parametrize(("args", "stdin", "code", "error"), FAILURES, ids=[" ".join(f[0]) for f in FAILURES])
def test_a_failing_run_with_json_prints_one_object_with_the_error(route, fake_provider, args, stdin, code, error):
    result = route(*args, input=stdin, env=provider_env(fake_provider))
    assert result.returncode == code, result.stderr
    data = json.loads(result.stdout)  # exactly one object: json.loads refuses anything after it
    assert data["ok"] is False and error in data["error"] and data["command"] == args[0]
    assert data["attempts"] == [] and data["reply"] == ""
    assert result.stderr.count("route: error:") == 1 and error in result.stderr  # the line is unchanged
    assert set(data) == _exit_7_keys(route, fake_provider)  # the same shape as an exit-7 failure's


def test_an_exit_7_failure_still_prints_its_one_object_with_the_attempts(route, fake_provider):
    fake_provider.script("anthropic", *[Fault("401")] * 3)
    result = route("ask", "hi", "-m", "claude-haiku", "--json", env=provider_env(fake_provider))
    assert result.returncode == 7
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["attempts"] and data["attempts"][0]["alias"] == "claude-haiku"


def test_without_json_a_failure_prints_nothing_on_stdout(route, fake_provider):
    result = route("ask", "hi", "--max-cost", "0", env=provider_env(fake_provider))
    assert result.returncode == 6 and result.stdout == ""


def test_a_prompt_after_double_dash_is_not_the_json_flag(route):
    result = route("ask", "--max-cost", "-1", "--", "--json")
    assert result.returncode == 2 and result.stdout == ""



def test_a_long_argument_taken_for_an_option_is_a_json_failure_too(route):
    result = route("ask", "--json", "-" * 80)
    assert result.returncode == 2
    assert "would be read as an option" in json.loads(result.stdout)["error"]
