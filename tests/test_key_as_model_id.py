"""A key pasted as a model id (`id: sk-ant-…` in routes.yaml, by mistake) goes to the provider as written, the user's
own setting, but is shown and stored masked everywhere: `ask --json`, the panel, the ledger's columns, `costs`,
`stats`, `log`, error messages and shell completion, as `explain` and `policy show` already did."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

from conftest import provider_env
from fakeprovider import Fault, Reply

from routecli.cli.completion import complete_model

KEY = "sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbNm"
MASKED = "sk-…VbNm"
ASK = ("ask", "hello there!", "-m", "claude-haiku")


def _policy(tmp_path) -> str:
    path = tmp_path / "pasted.yaml"
    # priced: an id unknown to genai-prices has no price, and an unpriced model is kept out under the budgets
    path.write_text(f"models:\n  claude-haiku:\n    id: {KEY}\n    price: {{input: 1, output: 5}}\n", encoding="utf-8")
    return str(path)


def _ledger(home) -> list[tuple]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    return conn.execute("SELECT model_id, reported_model_id, error FROM attempts ORDER BY id").fetchall()


def test_the_provider_gets_the_id_as_written_and_ask_json_and_the_ledger_hold_its_mask(
    route, fake_provider, home, tmp_path
):
    fake_provider.script("anthropic", Reply(text="hi"))  # the fake reports back the id it was sent
    result = route(*ASK, "--json", "--policy", _policy(tmp_path), env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    (sent,) = fake_provider.requests_for("anthropic")
    assert sent.body["model"] == KEY  # what the user configured
    data = result.json()
    assert data["model"]["model_id"] == MASKED and data["model"]["reported_model_id"] == MASKED
    assert data["attempts"][0]["model_id"] == MASKED
    assert KEY not in result.stdout and KEY not in result.stderr
    assert _ledger(home) == [(MASKED, MASKED, None)]


def test_costs_stats_and_log_never_show_it(route, fake_provider, home, tmp_path):
    policy, env = _policy(tmp_path), provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="hi"))
    assert route(*ASK, "--policy", policy, env=env).returncode == 0
    (exchange,) = route("log", "--json").json()
    assert exchange["model_id"] == MASKED
    shown = route("log", "show", exchange["id"])
    assert f"(anthropic {MASKED})" in shown.stdout
    for args in (("costs",), ("costs", "--json"), ("costs", "--by", "model"), ("stats", "--policy", policy),
                 ("stats", "--json", "--policy", policy), ("log",)):
        result = route(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert KEY not in result.stdout + result.stderr, args


def test_the_panel_shows_the_mask(route, fake_provider, tmp_path):
    fake_provider.script("anthropic", Reply(text="hi"))
    result = route(*ASK, "--verbose", "--policy", _policy(tmp_path), env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert f"claude-haiku (anthropic {MASKED})" in result.stderr and KEY not in result.stderr


def test_an_error_that_repeats_the_id_is_masked_on_stderr_in_json_and_in_the_ledger(
    route, fake_provider, home, tmp_path
):
    policy, env = _policy(tmp_path), provider_env(fake_provider)
    fake_provider.script("anthropic", Fault("404"))  # "model: <the id sent>", as Anthropic says it
    result = route(*ASK, "--policy", policy, env=env)
    assert result.returncode == 7
    assert f"not_found_error: model: {MASKED}" in result.stderr and KEY not in result.stderr
    fake_provider.script("anthropic", Fault("404"))
    data = route(*ASK, "--json", "--policy", policy, env=env)
    assert data.returncode == 7 and KEY not in data.stdout
    assert MASKED in json.loads(data.stdout)["error"] and MASKED in data.json()["attempts"][0]["error"]
    assert all(KEY not in str(row) for row in _ledger(home))
    assert _ledger(home)[0][2] == f"HTTP 404: not_found_error: model: {MASKED}"


def test_explain_and_shell_completion_show_the_mask(route, tmp_path):
    policy = _policy(tmp_path)
    shown = route("explain", "hello there!", "-m", "claude-haiku", "--policy", policy, "--json")
    haiku = next(v for v in shown.json()["candidates"] if v["alias"] == "claude-haiku")
    assert KEY not in shown.stdout and haiku["model_id"] == MASKED
    (haiku,) = [help for alias, help in complete_model(SimpleNamespace(params={"policy": policy}), "claude-h")
                if alias == "claude-haiku"]
    assert haiku.startswith(f"anthropic {MASKED}") and KEY not in haiku


def test_an_ordinary_id_is_shown_as_it_is(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="hi"))
    data = route(*ASK, "--json", env=provider_env(fake_provider)).json()
    assert data["model"]["model_id"] == "claude-haiku-5-5" == data["attempts"][0]["model_id"]


def test_a_side_call_to_a_model_whose_id_is_a_key_is_recorded_masked(route, fake_provider, home, tmp_path):
    from test_review import ANSWER, PASS, SAFETY

    reviewer_key = "sk-proj-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"
    policy = tmp_path / "reviewer.yaml"
    priced = "    price: {input: 1, output: 8}\n"  # an unpriced reviewer is not asked under the budgets
    policy.write_text(f"models:\n  gpt:\n    id: {reviewer_key}\n{priced}", encoding="utf-8")
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text=PASS))
    result = route("ask", SAFETY, "--json", "--policy", str(policy), env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert fake_provider.requests_for("openai")[0].body["model"] == reviewer_key
    (review,) = result.json()["side_calls"]
    assert review["model_id"] == "sk-…k0Lz" and reviewer_key not in result.stdout
    assert all(reviewer_key not in str(row) for row in _ledger(home))
