"""The safety review (issue 10): a second model, of another provider, reads the held-back reply against a rubric."""

from __future__ import annotations

import json
import sqlite3

from conftest import provider_env
from fakeprovider import Fault, Reply

SAFETY = "run rm -rf /var/lib/app on the production server"  # safety: claude-sonnet answers, gpt reviews
ANSWER = "First take a backup with tar, then stop the service, then remove the folder."
PASS = json.dumps({"verdict": "pass", "reasons": []})
CONCERNS = json.dumps({"verdict": "concerns", "reasons": ["No confirmation before deleting.", "Host not named."]})


def _rows(home):
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    return conn.execute("SELECT stage, alias, status, cost_usd FROM attempts ORDER BY ts, id").fetchall()


def _prompt(request) -> str:
    return json.dumps(request.body["messages"])


def test_a_safety_reply_is_reviewed_by_another_providers_model(route, fake_provider, home):
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text=PASS, input_tokens=900, output_tokens=12))
    result = route("ask", SAFETY, "-u", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "route: review by gpt: pass" in result.stderr
    assert " · + $" in result.stderr and " review (gpt)" in result.stderr  # -u: the review's cost, apart
    answering = fake_provider.requests_for("anthropic")
    reviewing = fake_provider.requests_for("openai")
    assert [r.body["model"] for r in answering] == ["claude-sonnet-5-5"]
    assert [r.body["model"] for r in reviewing] == ["gpt-5.1"]  # a different model, of another provider
    assert not reviewing[0].body.get("stream")  # a side call: not streamed
    sent = _prompt(reviewing[0])
    assert ANSWER in sent and "rm -rf /var/lib/app" in sent and "confirmation" in sent  # reply, request, rubric
    rows = _rows(home)
    assert [(stage, alias, status) for stage, alias, status, _ in rows] == [
        (None, "claude-sonnet", "ok"),
        ("review", "gpt", "ok"),
    ]
    assert float(rows[1][3]) > 0  # the review's own cost, from its real usage


def test_concerns_are_printed_on_stderr_and_the_reply_still_goes_out(route, fake_provider):
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text="Here is my verdict:\n```json\n" + CONCERNS + "\n```"))
    result = route("ask", SAFETY, "--quiet", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "review by gpt: concerns" in result.stderr  # shown even with --quiet
    assert "  - No confirmation before deleting." in result.stderr and "  - Host not named." in result.stderr

    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text=CONCERNS))
    data = route("ask", SAFETY, "--json", env=provider_env(fake_provider)).json()
    assert data["reply"] == ANSWER and data["ok"] is True
    assert data["review"]["status"] == "concerns" and data["review"]["reviewer"] == "gpt"
    assert data["review"]["reasons"] == ["No confirmation before deleting.", "Host not named."]
    assert [c["stage"] for c in data["side_calls"]] == ["review"]


def test_a_reviewer_answer_that_is_not_a_verdict_is_unavailable_never_pass(route, fake_provider):
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text="Looks fine to me!"))
    result = route("ask", SAFETY, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "reviewer unavailable: the reviewer's answer is not a verdict (gpt)" in result.stderr
    assert "pass" not in result.stderr

    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Fault("500"))
    data = route("ask", SAFETY, "--json", env=provider_env(fake_provider)).json()
    assert data["review"]["status"] == "unavailable" and "gpt failed" in data["review"]["reason"]


def test_no_usable_reviewer_is_said_and_the_reply_is_printed(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("tasks:\n  safety:\n    review: {model: gpt}\n")
    env = provider_env(fake_provider)
    del env["OPENAI_API_KEY"]
    fake_provider.script("anthropic", Reply(text=ANSWER))
    result = route("ask", SAFETY, "--policy", str(policy), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "reviewer unavailable: no usable reviewer (gpt: no API key (set OPENAI_API_KEY))" in result.stderr
    assert not fake_provider.requests_for("openai")


def test_a_reviewer_of_the_same_provider_is_taken_when_no_other_has_a_key(route, fake_provider):
    env = {k: v for k, v in provider_env(fake_provider).items() if not k.endswith("_API_KEY")}
    env["ANTHROPIC_API_KEY"] = "sk-ant-test-anthropic-0001"
    fake_provider.script("anthropic", Reply(text=ANSWER), Reply(text=PASS))
    result = route("ask", SAFETY, env=env)
    assert result.returncode == 0, result.stderr
    assert "review by claude-opus: pass" in result.stderr
    models = [r.body["model"] for r in fake_provider.requests_for("anthropic")]
    assert models == ["claude-sonnet-5-5", "claude-opus-5-5"]


ESCALATE = "tasks:\n  safety:\n    review: {on_concerns: escalate, escalate_to: claude-opus}\n"


def test_concerns_escalate_once_to_the_stronger_model(route, fake_provider, home, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(ESCALATE)
    fake_provider.script("anthropic", Reply(text=ANSWER), Reply(text="Back up, confirm the host, then delete."))
    fake_provider.script("openai", Reply(text=CONCERNS), Reply(text=PASS))
    result = route("ask", SAFETY, "--policy", str(policy), env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Back up, confirm the host, then delete.\n"
    assert "review by gpt: concerns" in result.stderr and "escalated to claude-opus" in result.stderr
    assert result.stderr.rstrip().endswith("review by gpt: pass")
    answering = fake_provider.requests_for("anthropic")
    assert [r.body["model"] for r in answering] == ["claude-sonnet-5-5", "claude-opus-5-5"]
    assert "No confirmation before deleting." in _prompt(answering[1])  # the stronger model sees the concerns
    stages = [(stage, alias) for stage, alias, _, _ in _rows(home)]
    assert stages == [(None, "claude-sonnet"), ("review", "gpt"), ("escalate", "claude-opus"), ("review", "gpt")]


def test_a_failed_escalation_prints_the_first_reply_and_exits_7(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(ESCALATE)
    fake_provider.script("anthropic", Reply(text=ANSWER), Fault("401"))
    fake_provider.script("openai", Reply(text=CONCERNS))
    result = route("ask", SAFETY, "--policy", str(policy), env=provider_env(fake_provider))
    assert result.returncode == 7
    assert result.stdout == ANSWER + "\n"
    assert "  - Host not named." in result.stderr
    assert "escalation to claude-opus after review concerns failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_explain_shows_the_reviewer_and_counts_it_in_the_worst_case(route, fake_provider):
    env = provider_env(fake_provider)
    text = route("explain", SAFETY, env=env)
    assert text.returncode == 0, text.stderr
    assert "Review      gpt (another provider than claude-sonnet); on concerns: warn" in text.stdout
    data = route("explain", SAFETY, "--json", env=env).json()
    assert data["review"]["reviewer"] == "gpt" and data["review"]["worst_case_cost_usd"] > 0
    dearest = max(c["worst_case_cost_usd"] for c in data["candidates"] if c["alias"] in data["chain"])
    expected = dearest + data["review"]["worst_case_cost_usd"]  # whichever model of the chain answers
    assert abs(data["worst_case_cost_usd"] - expected) < 1e-9
    assert not fake_provider.requests  # explain calls no model
    assert route("explain", "hello there!", "--json", env=env).json()["review"] is None  # only validated tasks


def test_a_review_without_validation_is_a_policy_error(route, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("tasks:\n  chat:\n    review: {model: gpt}\n")
    result = route("explain", "hi", "--policy", str(policy))
    assert result.returncode == 2
    assert "review needs 'validate: true'" in result.stderr


def test_the_reviewer_is_of_another_provider_and_never_the_answering_model(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("tasks:\n  safety:\n    review: {model: [claude-opus, claude-sonnet, gpt]}\n")
    env = provider_env(fake_provider)
    assert "Review      gpt (another provider" in route("explain", SAFETY, "--policy", str(policy), env=env).stdout
    policy.write_text("tasks:\n  safety:\n    review: {model: [claude-sonnet]}\n")
    shown = route("explain", SAFETY, "--policy", str(policy), env=env).stdout
    assert "Review      unavailable: no usable reviewer (no reviewer listed other than claude-sonnet)" in shown


def test_a_review_that_would_cross_the_budget_is_not_made_and_says_so(route, fake_provider):
    env = provider_env(fake_provider)
    data = route("explain", SAFETY, "--json", env=env).json()
    chain = data["chain"]  # any model of the chain may answer: the dearest bounds the reply
    answer = max(c["worst_case_cost_usd"] for c in data["candidates"] if c["alias"] in chain)
    cap = f"{(answer + data['worst_case_cost_usd']) / 2:.6f}"  # the reply fits under it, the reply and review do not
    shown = route("explain", SAFETY, "--max-cost", cap, env=env)
    assert "Review      not made: the reply and its review: worst case" in shown.stdout
    fake_provider.script("anthropic", Reply(text=ANSWER))
    result = route("ask", SAFETY, "--max-cost", cap, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "reviewer unavailable: not made: the reply and its review: worst case" in result.stderr
    assert not fake_provider.requests_for("openai")
