"""explain, models, stats, costs and cooldowns fit an 80-column terminal without losing what matters (the model,
its cost, the reason); evidence names policy files briefly; `route costs` shows requests beside attempts
(issue 9, point 20)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from conftest import ALL_KEYS, REPO

from routecli.ledger.record import record
from routecli.ledger.store import Row
from routecli.ledger.target import LedgerTarget

NARROW = {"COLUMNS": "80"}
WIDE = {"COLUMNS": "120"}
USER_RULE = "classify:\n  rules:\n    - task: code\n      weight: 3\n      patterns: ['\\bperu\\b']\n"


def _fits(text: str, width: int = 80) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert long == [], "\n".join(long)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _attempt(request: str, alias: str, provider: str, position: int, status: str, task: str = "chat") -> Row:
    return Row(
        ts=time.time() - 60,
        request_id=request,
        command="ask",
        task=task,
        profile="balanced",
        alias=alias,
        provider=provider,
        model_id=alias,
        reported_model_id=None,
        chain_position=position,
        try_number=0,
        status=status,
        error_kind=None,
        error=None,
        input_tokens=1_234_567,
        output_tokens=45_678,
        cached_input_tokens=0,
        cache_write_tokens=0,
        reasoning_tokens=0,
        usage_estimated=False,
        cost_usd=Decimal("12.345678"),
        price_source="test",
        first_token_s=0.5,
        total_s=2.5,
        reason="seed",
    )


def _seed(home: Path) -> None:
    rows = []
    for n in range(6):
        rows.append(_attempt(f"a{n}", "ollama/llama3.2:3b-instruct", "ollama", 0, "fallback", "summarize"))
        rows.append(_attempt(f"a{n}", "kimi-k2-thinking", "moonshot", 1, "ok", "summarize"))
        rows.append(_attempt(f"b{n}", "claude-haiku", "anthropic", 0, "ok"))
    record(LedgerTarget(home / "data" / "ledger.sqlite3"), rows)


# --- evidence -------------------------------------------------------------------------------------------


def _rule_line(task: str) -> int:
    lines = (REPO / "routes.yaml").read_text(encoding="utf-8").splitlines()
    return lines.index(f"    - name: {task}") + 1  # a rule's evidence names the line its entry starts on


def test_evidence_names_the_default_policy_briefly(route):
    evidence = route("explain", "please summarize the attached notes", "--json").json()["evidence"]
    rule = [e for e in evidence if e.startswith("summarize +")]
    assert rule and all(e.endswith(f"(default policy:{_rule_line('summarize')})") for e in rule), evidence
    assert not any(str(REPO) in e or "site-packages" in e for e in evidence)


def test_evidence_names_a_policy_in_this_folder_and_one_under_home_briefly(route, home, tmp_path):
    (tmp_path / "mine.yaml").write_text(USER_RULE)
    evidence = route("explain", "tell me about peru", "--policy", "mine.yaml", "--json").json()["evidence"]
    assert "code +3: 'peru' (./mine.yaml:3)" in evidence, evidence
    evidence = route("explain", "tell me about peru", "--policy", str(tmp_path / "mine.yaml"), "--json").json()
    assert "code +3: 'peru' (./mine.yaml:3)" in evidence["evidence"]
    (home / "config").mkdir()
    (home / "config" / "routes.yaml").write_text(USER_RULE)
    evidence = route("explain", "tell me about peru", "--json", env={"HOME": str(home)}).json()["evidence"]
    assert "code +3: 'peru' (~/config/routes.yaml:3)" in evidence, evidence


# --- 80 columns -----------------------------------------------------------------------------------------


def test_explain_fits_80_columns_keeping_model_cost_and_reason(route):
    prompt = "Summarize the history of Peru in three sentences"
    data = route("explain", prompt, "--json", env=ALL_KEYS).json()
    narrow = route("explain", prompt, env={**ALL_KEYS, **NARROW})
    assert narrow.returncode == 0, narrow.stderr
    _fits(narrow.stdout)
    flat = _flat(narrow.stdout)
    for verdict in data["candidates"]:
        row = next(line for line in narrow.stdout.splitlines() if f" {verdict['alias']} " in f"{line} ")
        assert ("$" in row) and ("✓" in row or "✗" in row), row  # alias, cost and verdict on one line
        assert _flat(verdict["why"]) in flat  # the reason, whole (wrapped)
    assert _flat(data["reason"]) in flat and _flat(" ".join(data["evidence"])) in flat
    wide = route("explain", prompt, env={**ALL_KEYS, **WIDE}).stdout
    _fits(wide, 120)
    header = next(line for line in wide.splitlines() if "verdict" in line)
    assert header.split() == ["model", "provider", "id", "role", "tier", "window", "est.", "cost", "verdict"]


def test_models_fits_80_columns_keeping_alias_prices_and_key(route):
    aliases = [row["alias"] for row in route("models", "--json").json()]
    narrow = route("models", env=NARROW).stdout
    _fits(narrow)
    header = narrow.splitlines()[0].split()
    assert header[0] == "model" and {"$/M", "in", "out", "key"} <= set(header)
    for alias in aliases:
        line = next(line for line in narrow.splitlines() if line.split()[0] == alias)
        assert line.split()[-1].endswith("_API_KEY") or line.split()[-1] == "local", line  # key: the last column
        assert len(line.split()) >= 5, line  # and the prices before it
    wide = route("models", env=WIDE).stdout
    _fits(wide, 120)
    assert {"id", "window", "tier", "speed", "provider"} <= set(wide.splitlines()[0].split())
    piped = route("models").stdout  # not a terminal, no COLUMNS: every column
    assert "max out" in piped.splitlines()[0] and "$/M cached" in piped.splitlines()[0]


def test_stats_fits_80_columns_and_120_shows_every_column(route, home):
    _seed(home)
    narrow = route("stats", env=NARROW).stdout
    _fits(narrow)
    for alias in ("ollama/llama3.2:3b-instruct", "kimi-k2-thinking", "claude-haiku"):
        line = next(line for line in narrow.splitlines() if line.startswith(alias))
        assert "%" in line
    assert next(line for line in narrow.splitlines() if line.startswith("claude-haiku")).endswith("2.50s")
    assert "success" in narrow and "ttft p50" in narrow
    wide = route("stats", env=WIDE).stdout
    for column in ("calls", "success", "fallback", "ttft p50", "ttft p95", "total p50", "total p95"):
        assert column in wide


def test_costs_fits_80_columns_with_requests_beside_attempts(route, home):
    _seed(home)
    narrow = route("costs", "--by", "model", "--by", "day", "--by", "task", env=NARROW).stdout
    _fits(narrow)
    header = narrow.splitlines()[0].split()
    assert header[:5] == ["model", "day", "task", "requests", "attempts"] and header[-1] == "cost"
    ollama = next(line for line in narrow.splitlines() if line.startswith("ollama/llama3.2:3b-instruct"))
    assert "$74.07" in ollama  # six attempts at $12.35
    total = narrow.splitlines()[-1].split()
    assert total[:3] == ["total", "12", "18"], total  # 12 requests made 18 attempts
    assert total[-1].startswith("$222.2")
    wide = route("costs", "--by", "model", "--by", "day", "--by", "task", env=WIDE).stdout
    _fits(wide, 120)
    assert {"failed", "input", "output"} <= set(wide.splitlines()[0].split())


def test_costs_without_groups_shows_requests_and_attempts(route, home):
    _seed(home)
    table = route("costs").stdout.splitlines()
    assert table[0].split()[:2] == ["requests", "attempts"] and table[1].split()[:2] == ["12", "18"]


def test_explain_of_a_map_reduce_plan_fits_80_columns(route, fake_provider, tmp_path):
    from conftest import provider_env
    from test_mapreduce import CHUNKED, _document

    policy = tmp_path / "p.yaml"
    policy.write_text(CHUNKED)
    text = route("explain", "--policy", str(policy), input=_document(1_000_000),
                 env={**provider_env(fake_provider), **NARROW}).stdout
    assert "map-reduce" in text and "worst case" in _flat(text)
    _fits(text)


def test_a_key_pasted_as_an_alias_is_masked_before_it_is_wrapped(route, tmp_path):
    from test_keys import FAKE_KEY, _no_part_of_key

    path = tmp_path / "alias.yaml"
    path.write_text(f"models:\n  {FAKE_KEY}:\n    provider: anthropic\n    id: x\n    context: 100000\n"
                    "    max_output: 1000\n    tier: 1\n    price: {input: 1, output: 5}\n")  # priced: allowed
    result = route("explain", "hello", "-m", FAKE_KEY, "--policy", str(path),
                   env={"ANTHROPIC_API_KEY": "sk-ant-test-anthropic-0001", "COLUMNS": "40"})
    assert result.returncode == 0, result.stderr
    _no_part_of_key(result.stdout + result.stderr)
