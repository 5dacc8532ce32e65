"""A model with no known price under a money limit: its worst case is unknown, not $0, so it cannot be shown to
fit --max-cost, a profile's cap or a budget. It is excluded (a typed reason), a pinned one is refused (exit 6)
with the way out; with no limit it runs. Reports leave unknown costs out of savings and say so."""

from __future__ import annotations

from pathlib import Path

from conftest import ALL_KEYS, provider_env
from fakeprovider import Reply

FINETUNE = (  # the README's own example
    "models:\n  my-finetune:\n    provider: openai\n    id: ft:gpt-5-mini:acme\n    context: 128000\n"
    "    max_output: 16000\n    tier: 2\n"
)
CANDIDATES = "tasks:\n  chat:\n    candidates: [my-finetune, claude-haiku]\n"
NO_BUDGETS = "budgets: {per_request: null, per_day: null, per_month: null}\n"
SAFETY = "how do I drop the production database safely"  # claude-sonnet answers, gpt reviews
NO_LIMITS = NO_BUDGETS + "profiles:\n  balanced: {max_cost_per_request: null}\n"


def _policy(tmp_path: Path, *parts: str) -> str:
    path = tmp_path / "ft.yaml"
    path.write_text(FINETUNE + "".join(parts))
    return str(path)


def test_a_pinned_unpriced_model_is_refused_under_max_cost_with_the_way_out(route, fake_provider, tmp_path):
    policy = _policy(tmp_path, NO_LIMITS)
    result = route("ask", "hello", "-m", "my-finetune", "--policy", policy, "--max-cost", "0",
                   env=provider_env(fake_provider))
    assert result.returncode == 6, result.stderr
    error = result.stderr.strip()
    assert error.count("\n") == 0 and "my-finetune" in error and "--max-cost" in error
    assert "no price" in error and "`price:` in the policy" in error and "drop the limit" in error
    assert fake_provider.requests == []
    sent = route("ask", "hello", "-m", "my-finetune", "--policy", policy, env=provider_env(fake_provider))
    assert sent.returncode == 0, sent.stderr  # no limit: unpriced, and allowed
    assert [r.body["model"] for r in fake_provider.requests] == ["ft:gpt-5-mini:acme"]


def test_an_unpriced_candidate_is_not_chosen_under_a_daily_budget(route, fake_provider, tmp_path):
    policy = _policy(tmp_path, CANDIDATES, "budgets: {per_day: 0.000001}\n")
    env = provider_env(fake_provider)
    explained = route("explain", "hello", "--policy", policy, "--json", env=env).json()
    finetune = next(c for c in explained["candidates"] if c["alias"] == "my-finetune")
    assert not finetune["eligible"] and "no price" in finetune["why"] and "daily budget" in finetune["why"]
    result = route("ask", "hello", "--policy", policy, env=env)
    assert result.returncode == 6, result.stderr
    assert "refused by budget" in result.stderr and "an unknown price" not in result.stderr
    assert fake_provider.requests == []


def test_each_money_limit_excludes_an_unpriced_model_with_a_typed_reason(home, tmp_path, monkeypatch):
    from routecli.paths import get_paths
    from routecli.policy.load import load_policy
    from routecli.routing.exclusions import Why
    from routecli.routing.inputs import gather
    from routecli.routing.options import RequestOptions
    from routecli.routing.plan import make_plan
    from routecli.run.state import read_world

    for name, key in ALL_KEYS.items():
        monkeypatch.setenv(name, key)
    request = gather("hello there", None, None, stdin_data=b"")
    limits = {  # policy, options -> a limit applies
        "profile cap": (CANDIDATES + NO_BUDGETS, RequestOptions(task="chat")),
        "per-request budget": (CANDIDATES + NO_LIMITS.replace("per_request: null", "per_request: 5"),
                               RequestOptions(task="chat")),
        "monthly budget": (CANDIDATES + NO_LIMITS.replace("per_month: null", "per_month: 50"),
                           RequestOptions(task="chat")),
        "--max-cost": (CANDIDATES + NO_LIMITS, RequestOptions(task="chat", request_budget=_dollars("1"))),
    }
    for name, (extra, options) in limits.items():
        policy = load_policy(_policy(tmp_path, extra), get_paths().config_dir)
        world = read_world(policy, get_paths())
        decision = make_plan(request, policy, world.prices, world.state, options).decision
        kinds = [r.kind for r in decision.verdict("my-finetune").exclusions]
        assert kinds == [Why.UNPRICED], (name, kinds)
        assert decision.chosen == "claude-haiku", name
    policy = load_policy(_policy(tmp_path, CANDIDATES + NO_LIMITS), get_paths().config_dir)
    world = read_world(policy, get_paths())
    free = make_plan(request, policy, world.prices, world.state, RequestOptions(task="chat")).decision
    assert free.verdict("my-finetune").eligible  # no limit at all: it may run


def _dollars(text: str):
    from decimal import Decimal

    return Decimal(text)


def test_the_reason_for_an_unpriced_choice_reads_right(route, fake_provider, tmp_path):
    policy = _policy(tmp_path, "tasks:\n  chat:\n    candidates: [my-finetune]\n", NO_LIMITS)
    reason = route("explain", "hello", "--policy", policy, "--json", env=provider_env(fake_provider)).json()["reason"]
    assert reason.startswith("my-finetune is the only eligible chat candidate, at an unknown price (tier 2")
    assert "estimated an unknown" not in reason
    pinned = route("explain", "hello", "-m", "my-finetune", "--policy", policy, "--json",
                   env=provider_env(fake_provider)).json()["reason"]
    assert pinned == "my-finetune was pinned with -m; its price is unknown"


def test_savings_and_stats_leave_unknown_costs_out_and_say_so(route, fake_provider, tmp_path):
    policy = _policy(tmp_path, NO_LIMITS)
    env = provider_env(fake_provider)
    fake_provider.script("openai", Reply(text="hi", input_tokens=1000, output_tokens=1000))
    assert route("ask", "hello", "-m", "my-finetune", "--policy", policy, env=env).returncode == 0
    only_unpriced = route("costs", "--vs", "claude-opus", "--policy", policy)
    assert only_unpriced.returncode == 0, only_unpriced.stderr
    assert "saved" not in only_unpriced.stdout and "100.0%" not in only_unpriced.stdout
    assert "1 successful call(s) of a model with no known price are left out" in " ".join(only_unpriced.stdout.split())
    data = route("costs", "--vs", "claude-opus", "--json", "--policy", policy).json()
    assert data["savings"]["baseline_cost_usd"] == 0 and data["savings"]["unpriced_calls_left_out"] == 1
    fake_provider.script("anthropic", Reply(text="hi", input_tokens=1000, output_tokens=1000))
    assert route("ask", "hello", "-m", "claude-haiku", "--policy", policy, env=env).returncode == 0
    mixed = route("costs", "--vs", "claude-opus", "--json", "--policy", policy).json()["savings"]
    assert mixed["unpriced_calls_left_out"] == 1
    assert 0 < mixed["saved_fraction"] < 1  # haiku against opus, for haiku's call alone
    shown = " ".join(route("costs", "--vs", "claude-opus", "--policy", policy).stdout.split())
    assert "routing saved" in shown and "1 successful call(s) of a model with no known price are left out" in shown
    stats = {m["alias"]: m for m in route("stats", "--json", "--policy", policy).json()["models"]}
    assert stats["my-finetune"]["cost_usd"] is None and stats["my-finetune"]["unpriced_calls"] == 1
    assert stats["claude-haiku"]["cost_usd"] > 0 and stats["claude-haiku"]["unpriced_calls"] == 0


def test_an_unpriced_reviewer_under_a_limit_reviews_nothing_and_says_why(route, fake_provider, tmp_path):
    policy = tmp_path / "rev.yaml"
    policy.write_text("models:\n  gpt:\n    id: gpt-unknown-7\n")  # the safety reviewer, now with no known price
    env = provider_env(fake_provider)
    data = route("explain", SAFETY, "--policy", str(policy), "--json", env=env).json()
    assert "the reviewer gpt has no price" in data["review"]["over_budget"]
    assert data["worst_case_cost_usd"] is not None  # the reply's alone: the review is not made
    fake_provider.script("anthropic", Reply(text="Take a backup first."))
    result = route("ask", SAFETY, "--policy", str(policy), env=env)
    assert result.returncode == 0 and result.stdout == "Take a backup first.\n"
    assert "route: reviewer unavailable: not made: the reviewer gpt has no price" in result.stderr
    assert fake_provider.requests_for("openai") == []


def test_the_guard_refuses_an_unpriced_attempt_under_a_cap_and_lets_it_pass_without_one():
    import pytest

    from routecli.routing.caps import Cap, UnpricedUnderCap
    from routecli.run.capguard import CapGuard

    with pytest.raises(UnpricedUnderCap) as refused:
        CapGuard(Cap(_dollars("2"), "the per-request budget, budgets.per_request")).reserve("my-finetune", None, 10, 10)
    assert refused.value.exit_code == 6 and "my-finetune not called: no price" in refused.value.message
    assert CapGuard(None).reserve("my-finetune", None, 10, 10) == 0


def test_an_unpriced_classifier_model_under_a_limit_is_not_consulted(route, fake_provider, tmp_path):
    policy = tmp_path / "cls.yaml"
    policy.write_text("models:\n  gemini-flash:\n    id: gemini-unknown-9\n"  # no known price now
                      "classify:\n  model: gemini-flash\n  below: 1\n")  # consulted whenever it may be
    result = route("ask", "tell me something about the moons of mars", "--policy", str(policy), "--verbose",
                   env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert "classifier model not consulted: no price" in result.stderr
    assert fake_provider.requests_for("gemini") == []
