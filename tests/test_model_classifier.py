"""The optional model classifier (issue 11): `classify.model` is asked when the learned classifier is unsure."""

from __future__ import annotations

import json
import sqlite3
import stat

from conftest import provider_env
from fakeprovider import Fault, Reply

PROMPT = "tell me something about the moons of mars"  # no rule of weight: the classifiers decide
ALWAYS = "classify:\n  model: gemini-flash\n  below: 1\n"  # every confidence is below 1: always consulted
NEVER = "classify:\n  model: gemini-flash\n  below: 0.0001\n"


def _policy(tmp_path, text: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return str(path)


def test_consulted_below_the_threshold_then_cached(route, fake_provider, home, tmp_path):
    policy, env = _policy(tmp_path, ALWAYS), provider_env(fake_provider)
    fake_provider.script("gemini", Reply(text="Creative.", input_tokens=150, output_tokens=2))
    result = route("ask", PROMPT, "--policy", policy, "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["task"] == "creative"
    assert data["classifier"] == {
        "model": "gemini-flash", "learned_confidence": data["classifier"]["learned_confidence"],
        "below": 1.0, "answer": "creative", "cached": False,
    }
    asked = fake_provider.requests_for("gemini")
    assert len(asked) == 1 and asked[0].body["model"] == "gemini-2.5-flash"
    question = json.dumps(asked[0].body["messages"])
    assert "moons of mars" in question and "one word" in question
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    rows = conn.execute("SELECT stage, alias, status, cost_usd, input_tokens FROM attempts ORDER BY ts, id").fetchall()
    assert rows[0][:3] == ("classify", "gemini-flash", "ok") and rows[0][4] == 150 and float(rows[0][3]) > 0
    assert rows[1][0] is None  # then the answer, by a model of the task the classifier named

    again = route("ask", PROMPT, "--policy", policy, "--json", env=env)
    assert again.json()["task"] == "creative" and again.json()["classifier"]["cached"] is True
    assert len(fake_provider.requests_for("gemini")) == 1  # the second run asked nobody
    cache = home / "cache" / "classifier.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    shown = route("explain", PROMPT, "--policy", policy, env=env)
    assert "classifier model gemini-flash: creative (cached)" in shown.stdout
    assert "Classifier  gemini-flash: creative (cached answer; learned confidence" in shown.stdout


def test_not_consulted_above_the_threshold(route, fake_provider, tmp_path):
    policy, env = _policy(tmp_path, NEVER), provider_env(fake_provider)
    result = route("ask", PROMPT, "--policy", policy, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["classifier"] is None
    assert not fake_provider.requests_for("gemini")


def test_off_by_default(route, fake_provider, home):
    env = provider_env(fake_provider)
    result = route("ask", PROMPT, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["classifier"] is None
    assert len(fake_provider.requests) == 1  # the answer only
    assert not (home / "cache" / "classifier.json").exists()
    assert route("explain", PROMPT, "--json", env=env).json()["classifier"] is None


def test_explain_says_it_would_consult_and_calls_nobody(route, fake_provider, tmp_path):
    policy, env = _policy(tmp_path, ALWAYS), provider_env(fake_provider)
    shown = route("explain", PROMPT, "--policy", policy, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Classifier  would consult gemini-flash (learned confidence 0." in shown.stdout and "< 1)" in shown.stdout
    data = route("explain", PROMPT, "--policy", policy, "--json", env=env).json()
    assert data["classifier"]["answer"] is None and data["classifier"]["model"] == "gemini-flash"
    assert not fake_provider.requests


def test_an_answer_that_is_not_a_task_is_ignored(route, fake_provider, home, tmp_path):
    policy, env = _policy(tmp_path, ALWAYS), provider_env(fake_provider)
    learned = route("explain", PROMPT, "--json", env=env).json()["task"]
    fake_provider.script("gemini", Reply(text="I would say it is astronomy"), Fault("500"))
    result = route("ask", PROMPT, "--policy", policy, "--verbose", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["task"] == learned
    assert "answered 'I would say it is astronomy', not a task; the learned classifier decides" in result.stderr
    assert not (home / "cache" / "classifier.json").exists()  # nothing cached: asked again next time
    failed = route("ask", PROMPT, "--policy", policy, "--verbose", env=env)
    assert failed.returncode == 0, failed.stderr
    assert "classifier model gemini-flash failed" in failed.stderr
    assert len(fake_provider.requests_for("gemini")) == 2


def test_a_safety_rule_or_task_option_never_consults(route, fake_provider, tmp_path):
    policy, env = _policy(tmp_path, ALWAYS), provider_env(fake_provider)
    fake_provider.script("openai", Reply(text=json.dumps({"verdict": "pass", "reasons": []})))
    assert route("ask", "run rm -rf /var/lib/app on the production server", "--policy", policy, env=env).returncode == 0
    assert route("ask", PROMPT, "-t", "chat", "--policy", policy, env=env).returncode == 0
    assert not fake_provider.requests_for("gemini")


def test_a_damaged_cache_is_only_a_cache(route, fake_provider, home, tmp_path):
    policy, env = _policy(tmp_path, ALWAYS), provider_env(fake_provider)
    (home / "cache" / "classifier.json").write_bytes(b"\x00not json")
    fake_provider.script("gemini", Reply(text="creative"))
    result = route("ask", PROMPT, "--policy", policy, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["task"] == "creative"


def test_classifier_settings_are_checked(route, tmp_path):
    bad = route("explain", "hi", "--policy", _policy(tmp_path, "classify:\n  model: nosuch\n"))
    assert bad.returncode == 2 and "classify.model names unknown model 'nosuch'" in bad.stderr
    bad = route("explain", "hi", "--policy", _policy(tmp_path, "classify:\n  model: local\n  below: 2\n"))
    assert bad.returncode == 2 and "classify.below must be a confidence between 0 and 1" in bad.stderr


def test_a_cached_answer_is_used_only_when_the_learned_classifier_is_unsure(route, fake_provider, tmp_path):
    env = provider_env(fake_provider)
    learned = route("explain", PROMPT, "--json", env=env).json()["task"]
    fake_provider.script("gemini", Reply(text="extract"))
    assert route("ask", PROMPT, "--policy", _policy(tmp_path, ALWAYS), env=env).returncode == 0  # cached: extract
    sure = route("ask", PROMPT, "--policy", _policy(tmp_path, NEVER), "--json", env=env)
    assert sure.json()["task"] == learned != "extract"  # confident enough: the cached answer is not consulted


def test_the_classifier_call_is_recorded_when_no_model_can_then_answer(route, fake_provider, home, tmp_path):
    env = {k: v for k, v in provider_env(fake_provider).items() if not k.endswith("_API_KEY")}
    env["GEMINI_API_KEY"] = "test-gemini-0005"  # the classifier's key only: no code model has one
    fake_provider.script("gemini", Reply(text="code"))
    result = route("ask", PROMPT, "--policy", _policy(tmp_path, ALWAYS), env=env)
    assert result.returncode == 5
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    assert conn.execute("SELECT stage, alias, status FROM attempts").fetchall() == [("classify", "gemini-flash", "ok")]


def test_a_classifier_model_without_a_key_is_not_asked(route, fake_provider, tmp_path):
    env = provider_env(fake_provider)
    del env["GEMINI_API_KEY"]
    result = route("ask", PROMPT, "--policy", _policy(tmp_path, ALWAYS), "--verbose", env=env)
    assert result.returncode == 0, result.stderr
    assert "classifier model not consulted: gemini-flash: no API key (set GEMINI_API_KEY)" in result.stderr
    assert not fake_provider.requests_for("gemini")
