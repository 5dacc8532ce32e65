"""Every timeout in a policy (defaults and per model) is a number of seconds above 0 and at most an hour, reported at
file:line by `route policy validate` and every command, like any other policy problem: a 0 made every provider fail
"no response within 0s" and cooled them all down."""

from __future__ import annotations

import pytest
from conftest import provider_env

from routecli.policy.schema import MAX_TIMEOUT_S

BAD = """\
defaults:
  timeouts: {first_token: 0}
models:
  gpt-mini:
    timeouts:
      idle: -1
      connect: .inf
      headers: 7200
  claude-haiku:
    timeouts: {first_token: .nan}
"""


def test_validate_reports_every_bad_timeout_at_its_line(route, tmp_path):
    (tmp_path / "routes.yaml").write_text(BAD)
    result = route("policy", "validate", "routes.yaml")
    assert result.returncode == 2
    rule = f"must be a number of seconds above 0 and at most {MAX_TIMEOUT_S}"
    assert result.stderr.splitlines() == [
        f"route: error: routes.yaml:2: defaults.timeouts.first_token {rule} (got 0)",
        f"route: error: routes.yaml:6: models.gpt-mini.timeouts.idle {rule} (got -1)",
        f"route: error: routes.yaml:7: models.gpt-mini.timeouts.connect {rule} (got inf)",
        f"route: error: routes.yaml:8: models.gpt-mini.timeouts.headers {rule} (got 7200)",
        f"route: error: routes.yaml:10: models.claude-haiku.timeouts.first_token {rule} (got nan)",
    ]


def test_ask_refuses_a_zero_timeout_before_any_call_or_cooldown(route, home, fake_provider):
    policy = home / "zero.yaml"
    policy.write_text("defaults:\n  timeouts: {first_token: 0}\n")
    env = provider_env(fake_provider, ROUTE_POLICY=str(policy))
    result = route("ask", "hi", env=env)
    assert result.returncode == 2
    assert "zero.yaml:2: defaults.timeouts.first_token must be a number of seconds above 0" in result.stderr
    assert fake_provider.requests == []


@pytest.mark.parametrize("value", ["0.5", "1", "120", str(MAX_TIMEOUT_S)])
def test_sane_timeouts_pass(route, tmp_path, value):
    (tmp_path / "routes.yaml").write_text(f"defaults:\n  timeouts: {{first_token: {value}, idle: {value}}}\n")
    result = route("policy", "validate", "routes.yaml")
    assert result.returncode == 0, result.stderr
