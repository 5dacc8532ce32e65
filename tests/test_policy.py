"""Policy files: merging a user's policy over the default, and one-line file:line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ALL_KEYS


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _assert_one_line_error(result, path: Path, line: int, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{path}:{line}:" in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("text", "line", "needles"),
    [
        ("models:\n  foo: [unclosed\n", 3, ("YAML syntax error",)),
        ("providers:\n  anthropic:\n    wire: anthropic\n    colour: blue\n", 4, ("unknown key", "colour")),
        (
            "models:\n  tiny:\n    provider: nowhere\n    id: t-1\n"
            "    context: 1000\n    max_output: 100\n    tier: 1\n",
            3,
            ("unknown provider", "nowhere"),
        ),
        ("tasks:\n  chat:\n    candidates: [claude-haiku, gpt-17]\n", 3, ("unknown model", "gpt-17")),
        ("models:\n  claude-haiku:\n    price: {input: -1, output: 2}\n", 3, ("negative",)),
        ("tasks:\n  chitchat:\n    candidates: [claude-haiku]\n", 2, ("unknown task", "chitchat")),
        ("classify:\n  rules:\n    - task: code\n      patterns: ['(unclosed']\n", 4, ("regular expression",)),
        ("budgets:\n  on_exceed: explode\n", 2, ("on_exceed",)),
        ("models:\n  claude-haiku:\n    context: lots\n", 3, ("positive integer",)),
    ],
)
def test_broken_policy_is_one_line_with_file_and_line(route, tmp_path, text, line, needles):
    path = _write(tmp_path, text)
    result = route("explain", "hello", "--policy", str(path))
    _assert_one_line_error(result, path, line, *needles)


def test_policy_from_environment_and_cwd(route, home, tmp_path):
    bad = _write(tmp_path, "nonsense: 1\n", "env.yaml")
    result = route("explain", "hello", env={"ROUTE_POLICY": str(bad)})
    _assert_one_line_error(result, bad, 1, "unknown key")
    cwd_policy = home.parent / "routes.yaml"
    cwd_policy.write_text("defaults:\n  profile: nope\n")
    result = route("explain", "hello")  # a folder's policy is not applied until trusted (tests/test_trust.py)
    assert result.returncode == 0 and "not trusted" in result.stderr
    result = route("policy", "trust")  # only a valid policy is trusted
    assert result.returncode == 2 and "routes.yaml:2" in result.stderr


def test_missing_policy_file(route, tmp_path):
    result = route("explain", "hello", "--policy", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "not found" in result.stderr


def test_user_policy_overrides_and_extends(route, tmp_path):
    path = _write(
        tmp_path,
        """
models:
  claude-haiku:
    price: {input: 50, output: 50}     # a negotiated (terrible) rate
  my-model:
    provider: openai
    id: ft:gpt-5-mini:acme
    context: 128000
    max_output: 16000
    tier: 2
    price: {input: 0.01, output: 0.01}
tasks:
  chat:
    candidates: [claude-haiku, mistral-medium, my-model]
""",
    )
    data = route("explain", "hello there", "--policy", str(path), "--json", env=ALL_KEYS).json()
    assert data["chosen"]["alias"] == "my-model"
    haiku = next(c for c in data["candidates"] if c["alias"] == "claude-haiku")
    assert haiku["estimated_cost_usd"] > 0.01  # the override applied


def test_user_rules_win_classification(route, tmp_path):
    path = _write(
        tmp_path, "classify:\n  rules:\n    - task: extract\n      weight: 50\n      patterns: ['\\binvoice\\b']\n"
    )
    data = route("explain", "write a poem about my invoice", "--policy", str(path), "--json", env=ALL_KEYS).json()
    assert data["task"] == "extract"
    assert any("mine.yaml" in e for e in data["evidence"])


def test_models_lists_catalog_with_prices_and_keys(route):
    result = route("models", "--json", env={"MISTRAL_API_KEY": "m-123"})
    assert result.returncode == 0, result.stderr
    rows = {r["alias"]: r for r in result.json()}
    assert {
        "claude-haiku",
        "claude-sonnet",
        "claude-opus",
        "mistral-small",
        "mistral-medium",
        "mistral-large",
        "codestral",
        "kimi-k2",
        "kimi-k2-thinking",
        "gemini-flash",
        "local",
    } <= set(rows)
    assert rows["mistral-large"]["key_present"] is True
    assert rows["claude-opus"]["key_present"] is False
    assert rows["claude-opus"]["price_per_mtok"]["source"].startswith("genai-prices")
    assert rows["local"]["price_per_mtok"]["input"] == 0
    table = route("models", env={"MISTRAL_API_KEY": "m-123"})
    assert "kimi-k2-thinking" in table.stdout and "m-123" not in table.stdout


def test_cached_policy_follows_edits(route, tmp_path):
    import os
    import time

    path = _write(tmp_path, "defaults:\n  profile: cheap\n")
    assert route("explain", "hello", "--policy", str(path), "--json", env=ALL_KEYS).json()["profile"] == "cheap"
    assert route("explain", "hello", "--policy", str(path), "--json", env=ALL_KEYS).json()["profile"] == "cheap"
    path.write_text("defaults:\n  profile: best\n")
    future = time.time() + 5
    os.utime(path, (future, future))
    assert route("explain", "hello", "--policy", str(path), "--json", env=ALL_KEYS).json()["profile"] == "best"
    path.write_text("defaults:\n  profile: none\n")
    os.utime(path, (future + 5, future + 5))
    assert route("explain", "hello", "--policy", str(path)).returncode == 2
