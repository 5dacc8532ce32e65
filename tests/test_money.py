"""Money across a whole run (issue 9, points 1, 4, 5, 6): one cap for every retry, fallback and chunk; summaries
that no single call takes within the cap go to map-reduce; --truncate with the default profile; token estimates;
the totals of every call in -u and --json."""

from __future__ import annotations

import json
import random
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import tiktoken
from conftest import provider_env
from fakeprovider import Fault

from routecli.routing import tokens

WORDS = ["alpha", "beta", "gamma", "delta", "revenue", "churn", "hiring", "roadmap", "customer", "quarter", "risk"]


def _document(size: int, seed: int = 11) -> str:
    rng = random.Random(seed)
    parts, total, section = [], 0, 0
    while total < size:
        if rng.random() < 0.05:
            section += 1
            block = f"\n# Section {section}\n\n"
        else:
            block = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80))) + ".\n\n"
        parts.append(block)
        total += len(block)
    return "".join(parts)


def _ledger(home: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    conn.row_factory = sqlite3.Row
    return conn.execute("SELECT * FROM attempts ORDER BY id").fetchall()


def _spent(home: Path) -> Decimal:
    return sum((Decimal(row["cost_usd"] or 0) for row in _ledger(home)), Decimal(0))


def test_a_2mb_summary_with_the_default_policy_runs_in_chunks_within_the_cap(route, home, fake_provider):
    document = _document(2_000_000)
    env = provider_env(fake_provider)
    plan = route("explain", "--json", "-t", "summarize", input=document, env=env)
    assert plan.returncode == 0, plan.stderr
    data = plan.json()["plan"]
    # One window (1M) fits 2 MB, but no single call does within the balanced profile's $0.50: map-reduce.
    assert data["kind"] == "map-reduce" and data["budget"] == "within budget"
    assert data["worst_case_cost_usd"] <= 0.50 and data["cap_usd"] == 0.50
    # The capable chunk model stays; only the fallbacks the cap cannot pay for leave its chain.
    assert data["map_model"] == "mistral-large" and data["downgraded_to"] is None
    assert "claude-sonnet" not in data["map_chain"] and len(data["map_chain"]) > 1
    assert fake_provider.requests == []
    result = route("summarize", "--json", input=document, env=env)
    assert result.returncode == 0, result.stderr
    out = result.json()
    assert out["totals"]["calls"] == data["calls"] == len(out["attempts"])
    assert _spent(home) <= Decimal("0.50") and _spent(home) <= Decimal(str(data["worst_case_cost_usd"]))
    # --json: `usage` is the final call's; `totals` add up every call; `cost_usd` is every call's too.
    assert out["usage"]["input_tokens"] == out["attempts"][-1]["usage"]["input_tokens"]
    assert out["totals"]["input_tokens"] == sum(a["usage"]["input_tokens"] for a in out["attempts"])
    assert out["totals"]["input_tokens"] > 10 * out["usage"]["input_tokens"]
    assert out["final_cost_usd"] == out["attempts"][-1]["cost_usd"]
    assert abs(out["cost_usd"] - sum(a["cost_usd"] for a in out["attempts"])) < 1e-9
    assert out["totals"]["elapsed_s"] > 0


def test_the_usage_line_shows_the_final_call_and_the_totals_apart(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("map_reduce:\n  chunk_tokens: 20000\n  above_tokens: 20000\n")
    env = provider_env(fake_provider)
    result = route("summarize", "-u", "--policy", str(policy), input=_document(300_000), env=env)
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stderr.splitlines() if "(final call)" in ln)
    calls = len(fake_provider.requests)
    assert f"all {calls} calls:" in line and calls > 2
    final_in = int(line.split("(final call) · ")[1].split(" in")[0].replace(",", ""))
    total_in = int(line.split(f"all {calls} calls: ")[1].split(" in")[0].replace(",", ""))
    assert total_in > final_in
    assert " · 0.0s" not in line and "0ms" not in line.split("calls:")[1]  # the run took time, and says so


def test_chunks_falling_back_stop_before_the_cap_and_keep_what_was_recorded(route, home, fake_provider, tmp_path):
    """Every map call breaks mid-stream (billed) and falls back: the run would spend more than its plan; the guard
    stops before the attempt that would cross the cap, with exit 6 and what was spent and left undone."""
    policy = tmp_path / "p.yaml"
    policy.write_text("map_reduce:\n  chunk_tokens: 20000\n  above_tokens: 20000\n  concurrency: 2\n")
    document = _document(1_000_000)
    env = provider_env(fake_provider)
    data = route("explain", "--json", "--policy", str(policy), input=document, env=env).json()["plan"]
    cap = (Decimal(str(data["worst_case_cost_usd"])) * 100).to_integral_value(rounding="ROUND_CEILING") / 100
    fake_provider.script("mistral", *[Fault("drop", after_chunks=1)] * 400)
    result = route("summarize", "--policy", str(policy), "--max-cost", str(cap), input=document, env=env)
    assert result.returncode == 6, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert f"of cap ${cap:.4f}" in message and "chunks done; not done:" in message, message
    spent = _spent(home)
    assert 0 < spent <= cap  # the cap held, and the attempts made were recorded
    assert f"spent ${spent:.4f}" in message
    # Twelve chunks falling back the same way: one notice with a count, not one per chunk.
    fallbacks = [ln for ln in result.stderr.splitlines() if "falling back to" in ln]
    assert len(fallbacks) == 1 and "times)" in fallbacks[0], result.stderr


def test_a_fallback_that_would_cross_the_cap_is_not_tried(route, home, fake_provider):
    """A single call: the first model breaks mid-stream and was billed; its fallback's worst case would cross
    --max-cost, so route stops (exit 6) instead of spending it."""
    env = provider_env(fake_provider)
    question = "summarize: " + _document(40_000)
    chosen = route("explain", "--json", "-t", "summarize", question, env=env).json()
    first, second = chosen["chain"][:2]
    worst = {c["alias"]: c["worst_case_cost_usd"] for c in chosen["candidates"]}
    cap = Decimal(str(worst[second])) + Decimal("0.001")
    assert worst[first] <= cap and worst[first] + worst[second] > cap  # each alone fits, not both
    provider = {c["alias"]: c["provider"] for c in chosen["candidates"]}[first]
    fake_provider.script(provider, Fault("drop", after_chunks=1))
    result = route("ask", "-t", "summarize", "--max-cost", str(cap), question, env=env)
    assert result.returncode == 6, result.stderr
    assert "not done: the reply" in result.stderr and second in result.stderr
    assert len(fake_provider.requests) == 1  # the fallback was never sent
    assert [row["status"] for row in _ledger(home)] == ["fallback"]
    assert _spent(home) > Decimal("0.001")  # what the broken first call was billed leaves too little


def test_a_summary_over_the_cap_is_refused_before_any_call_with_what_would_allow_it(route, fake_provider):
    env = provider_env(fake_provider)
    document = _document(2_000_000)
    refused = route("summarize", "--max-cost", "0.05", input=document, env=env)
    assert refused.returncode == 6, refused.stderr
    assert "refused before any call" in refused.stderr and "worst case $" in refused.stderr
    assert fake_provider.requests == []
    hint = refused.stderr.split("`--max-cost ")[1].split("`")[0]
    allowed = route("explain", "--json", "-t", "summarize", "--max-cost", hint, input=document, env=env)
    assert allowed.returncode == 0 and allowed.json()["plan"]["budget"] == "within budget"


def test_a_20mb_summary_is_planned_within_the_cap_or_refused_before_any_call(route, home, fake_provider):
    document = _document(20_000_000)
    env = provider_env(fake_provider)
    plan = route("explain", "--json", "-t", "summarize", input=document, env=env)
    data = plan.json()["plan"]
    assert data["kind"] == "map-reduce"
    result = route("summarize", "--batch", input=document, env=env)
    if data["budget"] == "within budget":
        assert data["worst_case_cost_usd"] <= 0.50
        assert result.returncode == 0, result.stderr
        assert _spent(home) <= Decimal("0.50")
    else:
        assert result.returncode == 6 and "refused before any call" in result.stderr
        assert f"worst case ${data['worst_case_cost_usd']:.4f}" in result.stderr
        assert fake_provider.requests == []
        # --max-cost stands for the profile's cap: the amount the refusal names allows the run.
        hint = result.stderr.split("`--max-cost ")[1].split("`")[0]
        allowed = route("explain", "--json", "-t", "summarize", "--max-cost", hint, input=document, env=env)
        assert allowed.json()["plan"]["budget"] == "within budget"


def test_truncate_works_with_the_default_profile(route, fake_provider):
    document = _document(8_000_000)
    env = provider_env(fake_provider)
    result = route("ask", "-t", "chat", "what does this say about churn?", "--truncate", input=document, env=env)
    assert result.returncode == 0, result.stderr
    assert "--truncate: input cut to" in result.stderr
    sent = fake_provider.requests[-1].body["messages"][-1]["content"]
    sent = sent if isinstance(sent, str) else json.dumps(sent)
    exact = len(tiktoken.get_encoding(tokens.ENCODING).encode_ordinary(sent))
    # chat above 128k tokens needs tier 3, which no chat model is: the largest usable input is 128k tokens.
    assert 0.8 * 128_000 <= exact <= 128_000 + 500


def test_token_estimates_of_a_big_input_are_within_15_percent(route, fake_provider):
    document = _document(8_000_000)  # the bounds (1.2M words, 8M bytes) leave every threshold below
    exact = len(tiktoken.get_encoding(tokens.ENCODING).encode_ordinary(document))
    result = route("explain", "--json", "-t", "summarize", input=document, env=provider_env(fake_provider))
    data = result.json()
    assert not data["tokens_exact"] and abs(data["tokens"] - exact) <= 0.15 * exact
    text = route("explain", "-t", "summarize", input=document, env=provider_env(fake_provider)).stdout
    assert f"~{data['tokens']:,}" in text
    too_large = route("ask", "-m", "mistral-small", "what is this?", input=document, env=provider_env(fake_provider))
    assert too_large.returncode == 4 and "route summarize" in too_large.stderr
    shown = r"~\d{1,3}(,\d{3})+ tokens; the largest window is mistral-small \(262,144 tokens\)"
    assert re.search(shown, too_large.stderr), too_large.stderr


def test_the_worst_case_counts_the_dearest_model_of_each_chain(route, home, fake_provider, tmp_path):
    """With room for the dearer fallbacks, the plan keeps them and its worst case prices every chunk at the
    dearest: when every chunk falls back, what the run spends stays within what `explain` said."""
    document = _document(2_000_000)
    env = provider_env(fake_provider)
    policy = tmp_path / "p.yaml"
    policy.write_text("map_reduce:\n  above_tokens: 200000\n")
    args = ("--max-cost", "2", "--policy", str(policy))
    data = route("explain", "--json", "-t", "summarize", *args, input=document, env=env).json()["plan"]
    assert data["map_model"] == "mistral-large" and "claude-sonnet" in data["map_chain"]
    fake_provider.script("mistral", *[Fault("401")] * 40)  # not billed; every chunk falls back to claude-sonnet
    result = route("summarize", *args, input=document, env=env)
    assert result.returncode == 0, result.stderr
    assert len(fake_provider.requests_for("anthropic")) >= data["chunks"]
    assert _spent(home) <= Decimal(str(data["worst_case_cost_usd"]))


def test_the_profile_cap_holds_for_the_worst_case_so_the_guard_never_stops_the_chosen_model(
    route, fake_provider, tmp_path
):
    env = provider_env(fake_provider)
    question = "summarize: " + _document(40_000)
    data = route("explain", "--json", "-t", "summarize", question, env=env).json()
    large = next(c for c in data["candidates"] if c["alias"] == "mistral-large")
    between = (large["estimated_cost_usd"] + large["worst_case_cost_usd"]) / 2
    policy = tmp_path / "p.yaml"
    policy.write_text(f"profiles:\n  balanced: {{max_cost_per_request: {between:.6f}}}\n")
    result = route("ask", "-t", "summarize", "--policy", str(policy), question, env=env)
    assert result.returncode == 0, result.stderr
    assert fake_provider.requests and fake_provider.requests[0].body["model"] != "mistral-large-2512"


def test_explain_gives_a_one_call_plan_its_worst_case_and_cap(route, fake_provider):
    data = route("explain", "--json", "summarize: " + _document(20_000), env=provider_env(fake_provider)).json()
    worst = {c["alias"]: c["worst_case_cost_usd"] for c in data["candidates"]}
    assert data["plan"]["worst_case_cost_usd"] == max(worst[alias] for alias in data["chain"])
    assert data["plan"]["cap_usd"] == 0.50
    text = route("explain", "summarize: " + _document(20_000), env=provider_env(fake_provider)).stdout
    assert "Worst case  $" in text and "stop before crossing $0.5000" in text
