"""Summaries of inputs larger than a window: chunking, the plan, the run, budgets, and --truncate."""

from __future__ import annotations

import json
import random
import sqlite3

from conftest import ALL_KEYS, provider_env
from fakeprovider import Fault, Reply

from routecli.routing import tokens
from routecli.routing.chunking import BYTES_PER_TOKEN, split

CHUNKED = "map_reduce:\n  chunk_tokens: 40000\n  above_tokens: 50000\n  concurrency: 3\n"


def _document(size: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "revenue",
        "churn",
        "hiring",
        "roadmap",
        "customer",
        "quarter",
        "growth",
        "risk",
    ]
    parts, total, section = [], 0, 0
    while total < size:
        if rng.random() < 0.05:
            section += 1
            block = f"\n# Section {section}\n\n"
        elif rng.random() < 0.02:
            block = "```python\ndef f(x):\n\n    return x\n```\n\n"
        else:
            block = " ".join(rng.choice(words) for _ in range(rng.randint(20, 80))) + ".\n\n"
        parts.append(block)
        total += len(block)
    return "".join(parts)


def test_chunks_cover_the_input_on_natural_boundaries():
    text = _document(300_000).encode()
    chunks = split(text, 10_000)
    assert b"".join(text[c.start : c.end] for c in chunks) == text
    assert all(c.size <= 10_000 * BYTES_PER_TOKEN for c in chunks)
    for chunk in chunks[:-1]:
        piece = text[chunk.start : chunk.end]
        assert piece.endswith(b"\n") or text[chunk.end : chunk.end + 1] == b"#"  # a line or heading boundary
        assert piece.count(b"```") % 2 == 0  # no code block cut in two


def test_chunks_respect_utf8_and_unbroken_text():
    text = ("日本語のテキスト" * 20_000).encode()  # no spaces or newlines at all
    chunks = split(text, 1000)
    assert b"".join(text[c.start : c.end] for c in chunks) == text
    for chunk in chunks:
        text[chunk.start : chunk.end].decode("utf-8")  # every chunk is whole characters


def test_explain_shows_the_plan_before_anything_is_spent(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(CHUNKED)
    result = route(
        "explain", "--json", "--policy", str(policy), input=_document(1_000_000), env=provider_env(fake_provider)
    )
    assert result.returncode == 0, result.stderr
    plan = result.json()["plan"]
    assert plan["kind"] == "map-reduce" and plan["chunks"] >= 8
    assert plan["map_model"] and plan["reduce_model"] and plan["estimated_cost_usd"] > 0
    assert plan["calls"] == plan["chunks"] + sum(level["calls"] for level in plan["reduce_levels"])
    assert fake_provider.requests == []  # nothing was called
    text = route("explain", "--policy", str(policy), input=_document(1_000_000), env=provider_env(fake_provider))
    assert "map-reduce" in text.stdout and "chunks" in text.stdout


def test_summarize_1mb_through_chunks_with_a_429_on_one_chunk(route, home, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(CHUNKED)
    document = _document(1_000_000)
    plan = route("explain", "--json", "--policy", str(policy), input=document, env=provider_env(fake_provider))
    chunks = plan.json()["plan"]["chunks"]
    partials = [f"PARTIAL-{i:02d} summary text." for i in range(chunks)]
    fake_provider.script(
        "mistral", Fault("429", retry_after=0.1), *[Reply(text=p) for p in partials], Reply(text="THE FINAL SUMMARY")
    )
    result = route("summarize", "--policy", str(policy), input=document, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "THE FINAL SUMMARY\n"
    requests = fake_provider.requests_for("mistral")
    assert len(requests) == chunks + 2  # every chunk once, one retry, one final call
    final_prompt = json.dumps(requests[-1].body["messages"])
    for partial in partials:
        assert partial in final_prompt  # the combining call saw every partial summary
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    rows = conn.execute("SELECT stage, status FROM attempts ORDER BY id").fetchall()
    map_ok = [stage for stage, status in rows if stage.startswith("map") and status == "ok"]
    assert len(map_ok) == chunks and len(set(map_ok)) == chunks  # one ok row per chunk
    assert [status for _, status in rows].count("retry") == 1
    assert rows[-1] == ("reduce final", "ok")


def test_budget_covers_the_whole_plan(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(CHUNKED + "budgets:\n  on_exceed: refuse\n")
    result = route(
        "summarize",
        "--policy",
        str(policy),
        "--max-cost",
        "0.01",
        input=_document(1_000_000),
        env=provider_env(fake_provider),
    )
    assert result.returncode == 6
    assert "per-request budget" in result.stderr
    assert fake_provider.requests == []
    # Within the per-call limits, the plan as a whole can still cross the budget: one line says so.
    roomy = tmp_path / "roomy.yaml"
    roomy.write_text(CHUNKED + "budgets:\n  on_exceed: refuse\n  per_request: 0.05\n")
    result = route("summarize", "--policy", str(roomy), input=_document(1_000_000), env=provider_env(fake_provider))
    assert result.returncode == 6 and "calls" in result.stderr and "per-request budget" in result.stderr
    assert fake_provider.requests == []


def test_ask_too_large_suggests_summarize_or_truncates(route, fake_provider, tmp_path):
    policy = tmp_path / "small.yaml"
    policy.write_text(
        "models:\n"
        + "".join(
            f"  {alias}:\n    context: 20000\n    max_output: 2000\n"
            for alias in (
                "claude-haiku",
                "claude-sonnet",
                "claude-opus",
                "mistral-small",
                "mistral-medium",
                "mistral-large",
                "codestral",
                "kimi-k2",
                "kimi-k2-thinking",
                "gpt-mini",
                "gpt",
                "gemini-flash",
                "gemini-pro",
                "local",
            )
        )
    )
    big = _document(200_000)
    refused = route(
        "ask",
        "what does this say about churn?",
        "-m",
        "claude-haiku",
        "--policy",
        str(policy),
        input=big,
        env=provider_env(fake_provider),
    )
    assert refused.returncode == 4
    assert "too large for every model" in refused.stderr and "route summarize" in refused.stderr
    fake_provider.script("anthropic", Reply(text="churn fell"))
    cut = route(
        "ask",
        "what does this say about churn?",
        "-m",
        "claude-haiku",
        "--truncate",
        "--policy",
        str(policy),
        input=big,
        env=provider_env(fake_provider),
    )
    assert cut.returncode == 0, cut.stderr
    assert cut.stdout == "churn fell\n" and "--truncate" in cut.stderr
    sent = fake_provider.requests[-1].body["messages"][-1]["content"]
    assert tokens.count_exact(sent) <= 20000 - 2000  # cut by the input's own tokens per byte, to fit the window


def test_a_failing_chunk_fails_the_summary_clearly(route, fake_provider, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(CHUNKED + "tasks:\n  summarize:\n    fallbacks: []\n")
    fake_provider.script("mistral", *[Fault("401")] * 40)
    result = route(
        "summarize",
        "--policy",
        str(policy),
        input=_document(300_000),
        env={**provider_env(fake_provider), "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": ""},
    )
    assert result.returncode in (5, 7), result.stderr
    assert "Traceback" not in result.stderr
    assert ALL_KEYS["MISTRAL_API_KEY"] not in result.stderr
