"""`route doctor`: the setup as route sees it, keys only ever masked, pings through our adapters, exit codes."""

from __future__ import annotations

import json
import time

import pytest
from conftest import ALL_KEYS, provider_env
from fakeprovider import Fault, Reply, closed_port

from routecli.ledger import cooldowns
from routecli.ledger.record import pending_path
from routecli.ledger.store import SCHEMA_VERSION, Ledger
from routecli.policy.environment import mask

PROVIDERS = ["anthropic", "mistral", "moonshot", "openai", "gemini", "ollama"]


def _assert_no_key_leaks(result, keys: dict[str, str] = ALL_KEYS) -> None:
    for value in keys.values():
        assert value not in result.stdout, value
        assert value not in result.stderr, value


def test_fresh_setup_reports_everything_and_exits_0(route, home):
    result = route("doctor")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "routes.yaml" in out and "valid: 14 models, 7 tasks" in out
    for name in PROVIDERS:
        assert f"\n  {name} " in out
    assert "ANTHROPIC_API_KEY: not set" in out and "local, off" in out
    assert str(home / "data" / "ledger.sqlite3") in out and "not created yet" in out
    assert "Cooldowns\n  none" in out
    assert "no provider is usable" in out  # a note, not a failure
    assert result.stderr == ""


def test_json_shows_keys_masked_and_base_url_overrides(route):
    env = {**ALL_KEYS, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    result = route("doctor", "--json", env=env)
    assert result.returncode == 0, result.stderr
    _assert_no_key_leaks(result)
    data = result.json()
    assert data["ok"] is True and data["exit_code"] == 0 and data["pinged"] is False
    rows = {row["name"]: row for row in data["providers"]}
    assert list(rows) == [*PROVIDERS, "llamacpp", "lmstudio"]
    for name, row in rows.items():
        if name in ("ollama", "llamacpp", "lmstudio"):
            assert row["local"] and row["key_env"] is None and row["enabled"] is False
            continue
        assert row["key_set"] is True and row["key"] == mask(ALL_KEYS[row["key_env"]])
        assert "ping" not in row
    assert rows["anthropic"]["key"] == "sk-…0001"
    assert rows["openai"]["base_url"] == "http://127.0.0.1:9/v1"
    assert rows["openai"]["base_url_from"] == "env OPENAI_BASE_URL"
    assert rows["mistral"]["base_url_from"] == "policy"
    text = route("doctor", env=env)
    _assert_no_key_leaks(text)
    assert "sk-…0001" in text.stdout and "(from OPENAI_BASE_URL)" in text.stdout


def test_broken_policy_is_one_line_and_exit_2(route, tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("models:\n  claude-haiku:\n    context: lots\n")
    for args, env in ((("--policy", str(bad)), None), ((), {"ROUTE_POLICY": str(bad)})):
        result = route("doctor", *args, env=env)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
        assert len(broken) == 1 and f"{bad}:3:" in broken[0] and "positive integer" in broken[0]
        assert "anthropic" in result.stdout  # the rest of the report is still there
        assert f"{bad}:3:" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    data = route("doctor", "--json", "--policy", str(bad)).json()
    assert data["policy"]["ok"] is False and data["exit_code"] == 2
    assert data["policy"]["error"].startswith(f"{bad}:3:")
    assert [f["role"] for f in data["policy"]["files"]] == ["default", "user"]
    missing = route("doctor", "--policy", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "policy file not found" in missing.stdout


def test_ping_reports_ok_529_and_refused_concurrently(route, fake_provider):
    fake_provider.script("anthropic", Fault("529"))
    for flavor in ("moonshot", "openai", "gemini"):
        fake_provider.script(flavor, Reply(text="o", chunks=1, chunk_delay=1.5))
    env = provider_env(fake_provider, MISTRAL_BASE_URL=f"http://127.0.0.1:{closed_port()}/mistral")
    result = route("doctor", "--ping", "--json", env=env)
    assert result.returncode == 7, result.stderr
    _assert_no_key_leaks(result)
    data = result.json()
    assert data["exit_code"] == 7 and data["pinged"] is True
    pings = {row["name"]: row["ping"] for row in data["providers"]}
    assert pings["anthropic"]["ok"] is False and pings["anthropic"]["error_kind"] == "overloaded"
    assert pings["anthropic"]["status"] == 529 and "Overloaded" in pings["anthropic"]["message"]
    assert pings["mistral"]["ok"] is False and pings["mistral"]["error_kind"] == "connect_error"
    for name in ("moonshot", "openai", "gemini"):
        assert pings[name]["ok"] is True and pings[name]["latency_s"] >= 1.4, pings[name]
    assert pings["ollama"] == {"ok": None, "skipped": "local server not enabled (set OLLAMA_BASE_URL or ROUTE_LOCAL=1)"}
    assert any("anthropic (overloaded)" in p and "mistral (connect_error)" in p for p in data["problems"])
    # one token each, with our tiny prompt, to the provider's least capable model
    body = fake_provider.requests_for("anthropic")[0].body
    assert body["max_tokens"] == 1 and body["model"] == "claude-haiku-5-5"
    openai_body = fake_provider.requests_for("openai")[0].body
    assert openai_body.get("max_completion_tokens", openai_body.get("max_tokens")) == 1
    # concurrently: three 1.5 s replies began within a fraction of one another
    arrivals = [fake_provider.requests_for(f)[0].time for f in ("moonshot", "openai", "gemini")]
    assert max(arrivals) - min(arrivals) < 1.0, arrivals
    # a ping does not change route's state: no cooldown for the 529, no ledger rows
    assert data["cooldowns"] == [] and data["ledger"]["exists"] is False


def test_ping_all_healthy_exits_0_and_text_report(route, fake_provider):
    result = route("doctor", "--ping", env=provider_env(fake_provider, local=True))
    assert result.returncode == 0, result.stderr
    ping_section = result.stdout.split("Ping (", 1)[1].split("\n\n", 1)[0]
    for name in PROVIDERS:
        assert any(line.split()[:2] == [name, "ok"] for line in ping_section.splitlines()), ping_section
    assert result.stdout.rstrip().endswith("All is well.")
    _assert_no_key_leaks(result)
    assert len(fake_provider.requests_for("ollama")) == 1


def test_keys_never_leak_even_when_a_provider_echoes_them(route, fake_provider):
    # OpenAI's 401 says "Incorrect API key provided: <key>."; the fake does the same with BAD_KEY
    keys = {**ALL_KEYS, "OPENAI_API_KEY": "bad-key"}
    env = {**provider_env(fake_provider), **keys}
    env["GEMINI_BASE_URL"] = "http://user:hunter2-secret-password@127.0.0.1:9/v1beta/openai"
    result = route("doctor", "--ping", "--json", env=env)
    assert result.returncode == 7
    _assert_no_key_leaks(result, {**keys, "password": "hunter2-secret-password"})
    rows = {row["name"]: row for row in result.json()["providers"]}
    assert rows["openai"]["ping"]["error_kind"] == "auth_error" and rows["openai"]["key"] == mask("bad-key")
    assert rows["gemini"]["base_url"].startswith("http://user:hun…word@127.0.0.1:9/")


def test_ledger_pending_rows_and_cooldowns(route, home):
    paths_ledger = home / "data" / "ledger.sqlite3"
    with Ledger(paths_ledger):  # creates and migrates
        pass
    pending = pending_path(paths_ledger)
    pending.write_text('{"row": 1}\n{"row": 2}\n\n{"row": 3}\n')
    cooldowns.add(home / "state" / "cooldowns.json", "provider:anthropic", 120, "529 overloaded")
    cooldowns.add(home / "state" / "cooldowns.json", "model:gpt", 0.01, "gone by now")
    time.sleep(0.05)
    data = route("doctor", "--json").json()
    ledger = data["ledger"]
    assert ledger["exists"] and ledger["schema_version"] == SCHEMA_VERSION and ledger["rows"] == 0
    assert ledger["size_bytes"] > 0 and ledger["pending_rows"] == 3 and ledger["error"] is None
    assert [c["key"] for c in data["cooldowns"]] == ["provider:anthropic"]
    assert 100 < data["cooldowns"][0]["seconds_left"] <= 120 and data["cooldowns"][0]["reason"] == "529 overloaded"
    text = route("doctor").stdout
    assert "3 rows waiting" in text and "provider:anthropic  529 overloaded" in text and "s left" in text
    assert f"version {SCHEMA_VERSION}" in text


def test_corrupt_ledger_exits_8(route, home):
    ledger = home / "data" / "ledger.sqlite3"
    ledger.parent.mkdir(parents=True)
    ledger.write_bytes(b"this is not a database" * 100)
    result = route("doctor", "--json")
    assert result.returncode == 8, result.stderr
    data = json.loads(result.stdout)
    assert "corrupt" in data["ledger"]["error"] and data["exit_code"] == 8


@pytest.mark.process
def test_doctor_without_ping_imports_no_sdk(home):
    from test_speed_guards import _modules

    assert not _modules(home, "doctor") & {"anthropic", "openai", "mistralai"}


def test_help_lists_the_new_commands(route):
    out = route("--help").stdout
    for name in ("doctor", "policy", "completion"):
        assert f"\n  {name} " in out
