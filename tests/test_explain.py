"""`route explain`: the mission's routing table, the JSON shape, pins, profiles and the local switch."""

from __future__ import annotations

from conftest import ALL_KEYS

GREETING = "hi there! how are you today?"
COMPLEX_CODE = (
    "Refactor our distributed job scheduler into a lock-free architecture: fix the race condition in the "
    "retry queue, make the worker pool thread-safe, and add unit tests for every edge case."
)
SAFETY = "Run `sudo rm -rf /var/lib/postgresql` on the production database server and then drop table users."


def _no(*names: str) -> dict[str, str]:
    return {k: v for k, v in ALL_KEYS.items() if k not in names}


def test_greeting_goes_to_haiku_or_mistral_medium(route):
    result = route("explain", GREETING, "--json", env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["task"] == "chat"
    assert data["chosen"]["alias"] in ("claude-haiku", "mistral-medium")


def test_summarizing_100kb_goes_to_sonnet_or_mistral_large(route, tmp_path):
    paragraph = (
        "The quarterly report covers revenue, churn, hiring and the roadmap. Revenue grew in every region, "
        "while churn fell slightly after the pricing change. Hiring slowed in the second half.\n\n"
    )
    big = tmp_path / "report.txt"
    big.write_text(paragraph * (100_000 // len(paragraph) + 1))
    result = route("explain", "Summarize this report", "-f", str(big), "--json", env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["task"] == "summarize"
    assert data["chosen"]["alias"] in ("claude-sonnet", "mistral-large")
    assert 15_000 < data["tokens"] < 40_000


def test_summarizing_from_stdin_without_instruction(route):
    text = "Minutes of the meeting. Alice presented the budget. Bob asked about hiring.\n\n" * 400
    result = route("explain", "--json", input=text, env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    assert result.json()["task"] == "summarize"


def test_complex_code_goes_to_kimi_thinking_or_opus(route):
    data = route("explain", COMPLEX_CODE, "--json", env=ALL_KEYS).json()
    assert data["task"] == "code"
    assert data["chosen"]["alias"] in ("kimi-k2-thinking", "claude-opus")
    without_moonshot = route("explain", COMPLEX_CODE, "--json", env=_no("MOONSHOT_API_KEY")).json()
    assert without_moonshot["chosen"]["alias"] == "claude-opus"


def test_simple_code_stays_cheap(route):
    data = route("explain", "write a python function that reverses a string", "--json", env=ALL_KEYS).json()
    assert data["task"] == "code"
    assert data["chosen"]["alias"] == "codestral"


def test_safety_goes_to_sonnet_with_validation(route):
    data = route("explain", SAFETY, "--json", env=ALL_KEYS).json()
    assert data["task"] == "safety"
    assert data["chosen"]["alias"] == "claude-sonnet"
    assert data["validate"] is True
    write = route("explain", "overwrite /etc/hosts with the new block list", "--json", env=ALL_KEYS).json()
    assert write["task"] == "safety" and write["chosen"]["alias"] == "claude-sonnet"


def test_without_anthropic_key_mistral_or_local_takes_over(route):
    env = _no("ANTHROPIC_API_KEY")
    for prompt in (GREETING, SAFETY, "Summarize: the meeting moved to Tuesday because the room was booked."):
        data = route("explain", prompt, "--json", env=env).json()
        assert data["chosen"]["provider"] in ("mistral", "ollama"), (prompt, data["chosen"])
        claude = [c for c in data["candidates"] if c["provider"] == "anthropic"]
        assert claude and all(not c["eligible"] and "ANTHROPIC_API_KEY" in c["why"] for c in claude)


def test_json_shape_is_stable(route):
    data = route("explain", GREETING, "--json", env=ALL_KEYS).json()
    assert isinstance(data["task"], str)
    assert isinstance(data["evidence"], list) and all(isinstance(e, str) for e in data["evidence"])
    assert isinstance(data["tokens"], int)
    assert set(data["chosen"]) >= {"alias", "provider", "model_id", "estimated_cost_usd"}
    assert isinstance(data["chosen"]["estimated_cost_usd"], float)
    assert isinstance(data["reason"], str) and data["chosen"]["alias"] in data["reason"]
    assert data["chain"][0] == data["chosen"]["alias"]
    for c in data["candidates"]:
        assert set(c) >= {"alias", "provider", "model_id", "eligible", "why", "estimated_cost_usd"}
        assert isinstance(c["eligible"], bool) and isinstance(c["why"], str)


def test_cheapest_eligible_candidate_wins(route):
    data = route("explain", "Write a short poem about autumn leaves", "--json", env=ALL_KEYS).json()
    eligible = [c for c in data["candidates"] if c["eligible"] and c["role"] == "candidate"]
    assert data["chosen"]["estimated_cost_usd"] == min(c["estimated_cost_usd"] for c in eligible)


def test_human_report_shows_table_choice_and_chain(route):
    result = route("explain", COMPLEX_CODE, env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in ("Task", "code", "Tokens", "kimi-k2-thinking", "Chosen", "Chain", "tier 2 below required 4"):
        assert needle in out
    assert result.stderr == ""


def test_pinned_model_is_still_explained(route):
    data = route("explain", GREETING, "-m", "claude-opus", "--json", env=ALL_KEYS).json()
    assert data["chosen"]["alias"] == "claude-opus"
    assert "pinned" in data["reason"]
    others = [c for c in data["candidates"] if c["alias"] != "claude-opus"]
    assert others and all(not c["eligible"] for c in others)


def test_pinned_model_without_key_fails_clearly(route):
    result = route("explain", GREETING, "-m", "claude-opus", env=_no("ANTHROPIC_API_KEY"))
    assert result.returncode == 5
    assert "ANTHROPIC_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_forced_task_and_complexity(route):
    data = route("explain", GREETING, "--task", "reasoning", "--json", env=ALL_KEYS).json()
    assert data["task"] == "reasoning" and data["task_forced"] is True
    low = route("explain", "Write a quicksort in C", "--complexity", "1", "--json", env=ALL_KEYS).json()
    high = route("explain", "Write a quicksort in C", "--complexity", "10", "--json", env=ALL_KEYS).json()
    assert low["required_tier"] < high["required_tier"]
    assert high["chosen"]["alias"] in ("kimi-k2-thinking", "claude-opus")


def test_local_flag_keeps_only_local_models(route):
    data = route("explain", GREETING, "--local", "--json", env=ALL_KEYS).json()
    assert data["chosen"]["alias"] == "local"
    assert all(c["provider"] == "ollama" or "not local" in c["why"] for c in data["candidates"])


def test_local_server_enabled_by_base_url_wins_on_price_when_capable(route):
    env = {**ALL_KEYS, "OLLAMA_BASE_URL": "http://127.0.0.1:9/v1"}
    data = route("explain", "hello!", "--json", env=env).json()
    assert data["chosen"]["alias"] == "local"


def test_best_profile_prefers_capability(route):
    data = route("explain", "Write a short poem about the sea", "--profile", "best", "--json", env=ALL_KEYS).json()
    chosen = next(c for c in data["candidates"] if c["alias"] == data["chosen"]["alias"])
    assert chosen["tier"] == max(c["tier"] for c in data["candidates"] if c["eligible"])


def test_cheap_profile_cap_excludes_expensive_models(route):
    code = "def handler(event):\n    return process(event)\n\n" * 3000
    data = route("explain", COMPLEX_CODE, "--profile", "cheap", "--json", input=code, env=ALL_KEYS).json()
    opus = next(c for c in data["candidates"] if c["alias"] == "claude-opus")
    assert not opus["eligible"] and "cheap profile" in opus["why"]
    assert data["chosen"]["estimated_cost_usd"] <= 0.05


def test_interactive_prefers_fast_models(route):
    batch = route("explain", "what's the capital of Peru?", "--batch", "--json", env=ALL_KEYS).json()
    fast = route("explain", "what's the capital of Peru?", "--interactive", "--json", env=ALL_KEYS).json()
    chosen = next(c for c in fast["candidates"] if c["alias"] == fast["chosen"]["alias"])
    assert chosen["speed"] == "fast"
    assert batch["chosen"]["alias"]


def test_cooldown_shows_in_explain(route, home):
    import json
    import time

    (home / "state").mkdir(parents=True, exist_ok=True)
    (home / "state" / "cooldowns.json").write_text(
        json.dumps({"provider:anthropic": {"until": time.time() + 300, "reason": "529 overloaded"}})
    )
    data = route("explain", GREETING, "--json", env=ALL_KEYS).json()
    haiku = next(c for c in data["candidates"] if c["alias"] == "claude-haiku")
    assert not haiku["eligible"] and "cooling down" in haiku["why"] and "529" in haiku["why"]
    assert data["chosen"]["alias"] == "mistral-medium"


def test_no_key_at_all_is_reported_not_failed(route):
    """A fresh machine: the dry run shows every candidate without a key and exits 0; ask would exit 5."""
    result = route("explain", "Summarize this file", "--json", input="A short note about nothing.\n" * 20)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["chosen"] is None and data["chain"] == []
    assert any("no API key" in c["why"] for c in data["candidates"])
    assert result.stderr.count("\n") == 1 and "would stop here (exit 5)" in result.stderr
    asked = route("ask", "Summarize this file", input="A short note about nothing.\n" * 20)
    assert asked.returncode == 5 and asked.stdout == ""
