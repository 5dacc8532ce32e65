"""Provider settings in the environment that can never work: a key an HTTP header cannot carry, a `<NAME>_BASE_URL`
that is not an http(s) URL. One line naming the variable (never its value), exit 2, no call and no cooldown;
doctor and explain report them; the other providers still answer."""

from __future__ import annotations

import pytest
from conftest import provider_env
from fakeprovider import Reply

from routecli.errors import UsageError
from routecli.policy.environment import read_environment
from routecli.policy.load import load_policy
from routecli.policy.settings_check import base_url_problem, key_problem
from routecli.run.executor import endpoint_for

CYRILLIC_KEY = "sk-ant-ключ1234"
BAD_URL = "ht!tp://bad url"


def _transport(home, transport: str) -> dict[str, str]:
    policy = home / "transport.yaml"
    policy.write_text(f"providers:\n  anthropic:\n    transport: {transport}\n")
    return {"ROUTE_POLICY": str(policy)}


@pytest.mark.parametrize("transport", ["raw", "sdk"])
def test_a_key_a_header_cannot_carry_is_one_line_exit_2_on_every_transport(route, home, fake_provider, transport):
    env = provider_env(fake_provider, ANTHROPIC_API_KEY=CYRILLIC_KEY, **_transport(home, transport))
    result = route("ask", "hi", "-m", "claude-haiku", env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "route: error: claude-haiku: ANTHROPIC_API_KEY holds characters an HTTP header cannot carry "
        "(a key is printable ASCII)\n"
    )
    assert "ключ" not in result.stderr and fake_provider.requests == []
    assert route("cooldowns", "--json", env=env).json() == []


def test_doctor_ping_names_the_key_and_pings_the_others(route, fake_provider):
    result = route("doctor", "--ping", "--json", env=provider_env(fake_provider, ANTHROPIC_API_KEY=CYRILLIC_KEY))
    assert result.returncode == 2, result.stderr
    report = result.json()
    assert "anthropic: ANTHROPIC_API_KEY holds characters an HTTP header cannot carry" in report["problems"][0]
    anthropic = next(row for row in report["providers"] if row["name"] == "anthropic")
    assert anthropic["ping"]["ok"] is None and "ANTHROPIC_API_KEY" in anthropic["ping"]["skipped"]
    assert "ключ" not in result.stdout + result.stderr
    assert {r.flavor for r in fake_provider.requests} >= {"openai", "mistral"}  # the healthy ones were pinged


def test_a_base_url_that_is_not_a_url_fails_doctor_and_ask_without_a_cooldown(route, fake_provider):
    env = provider_env(fake_provider, ANTHROPIC_BASE_URL=BAD_URL)
    doctor = route("doctor", env=env)
    assert doctor.returncode == 2 and "All is well" not in doctor.stdout
    assert "anthropic: ANTHROPIC_BASE_URL is not an http(s) URL" in doctor.stdout
    ask = route("ask", "hi", "-m", "claude-haiku", env=env)
    assert ask.returncode == 2
    assert ask.stderr == "route: error: claude-haiku: ANTHROPIC_BASE_URL is not an http(s) URL (such as https://host:port/v1)\n"
    assert fake_provider.requests == [] and route("cooldowns", "--json", env=env).json() == []


def test_explain_shows_the_model_left_out_and_why(route, fake_provider):
    result = route("explain", "hi", "--json", env=provider_env(fake_provider, ANTHROPIC_BASE_URL=BAD_URL))
    assert result.returncode == 0, result.stderr
    verdicts = {c["alias"]: c for c in result.json()["candidates"]}
    assert "ANTHROPIC_BASE_URL is not an http(s) URL" in str(verdicts["claude-haiku"])


def test_another_provider_answers_and_the_one_left_out_is_said(route, fake_provider):
    fake_provider.script("mistral", Reply(text="from mistral"))
    result = route("ask", "hi", env=provider_env(fake_provider, ANTHROPIC_API_KEY=CYRILLIC_KEY))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "from mistral\n"
    assert "ANTHROPIC_API_KEY holds characters an HTTP header cannot carry (a key is printable ASCII): " \
           "anthropic is left out" in result.stderr


def test_no_transport_is_ever_given_a_setting_that_cannot_work(home, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", CYRILLIC_KEY)
    policy = load_policy(None, home / "config")
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        endpoint_for(policy, read_environment(policy), "claude-haiku")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "https://api.example.com", "HTTPS://h/v1/"])
def test_good_base_urls_pass(url):
    assert base_url_problem("X_BASE_URL", url) is None


@pytest.mark.parametrize("url", [BAD_URL, "http://", "ftp://host/v1", "http://host:99999", "http://a b", "api.x.com"])
def test_bad_base_urls_are_named(url):
    assert base_url_problem("X_BASE_URL", url) == "X_BASE_URL is not an http(s) URL (such as https://host:port/v1)"


@pytest.mark.parametrize(("key", "ok"), [("sk-test-0001", True), (CYRILLIC_KEY, False), ("sk-a\tb", False),
                                         ("sk-\u00e9", False)])
def test_keys_must_be_printable_ascii(key, ok):
    assert (key_problem("K", key) is None) is ok


def test_a_reviewer_with_a_setting_that_cannot_work_is_not_usable(home):
    from routecli.routing.decide import RoutingState
    from routecli.routing.review import usable

    policy = load_policy(None, home / "config")
    problem = "ANTHROPIC_API_KEY holds characters an HTTP header cannot carry (a key is printable ASCII)"
    state = RoutingState(keys_present={"anthropic": True}, unusable={"anthropic": problem})
    assert usable(policy, state, "claude-haiku") == f"claude-haiku: {problem}"
    assert usable(policy, RoutingState(keys_present={"anthropic": True}), "claude-haiku") is None
