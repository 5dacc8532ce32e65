"""Named rules and hints: a user entry with a default entry's name replaces it, `enabled: false` removes it, a new
name is added; an unnamed entry (an old policy) gets a stable derived name and is added; escalation levels are named
by their threshold."""

from __future__ import annotations

from pathlib import Path

from conftest import ALL_KEYS

from routecli.paths import get_paths
from routecli.policy.load import load_policy


def _load(tmp_path: Path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(str(path), get_paths().config_dir, None), path


DEFAULT_RULES = ["safety", "summarize", "code", "reasoning", "creative", "media-script", "extract", "chat"]


def _rules(policy) -> dict[str, object]:
    return {rule.name: rule for rule in policy.classification.rules}


def test_default_rules_and_hints_have_names(home):
    policy = load_policy(None, get_paths().config_dir, None)
    assert list(_rules(policy)) == DEFAULT_RULES
    assert "greeting" in [hint.name for hint in policy.complexity.hints]


def test_a_rule_with_a_default_name_replaces_it_in_place(home, tmp_path):
    text = "classify:\n  rules:\n    - name: chat\n      task: chat\n      weight: 9\n      patterns: ['^yo\\b']\n"
    policy, path = _load(tmp_path, text)
    rules = _rules(policy)
    assert list(rules) == DEFAULT_RULES  # no twin
    assert rules["chat"].weight == 9 and [p.pattern for p in rules["chat"].patterns] == ["^yo\\b"]
    assert str(rules["chat"].origin) == f"{path}:3"


def test_enabled_false_removes_a_rule_and_a_hint(home, tmp_path, route):
    text = (
        "classify:\n  rules:\n    - {name: chat, enabled: false}\n"
        "complexity:\n  hints:\n    - {name: greeting, enabled: false}\n"
    )
    policy, path = _load(tmp_path, text)
    assert "chat" not in _rules(policy)
    assert "greeting" not in [hint.name for hint in policy.complexity.hints]
    data = route("explain", "hello there", "--policy", str(path), "--json", env=ALL_KEYS).json()
    assert not any(e.startswith("chat +") for e in data["evidence"])
    shown = route("policy", "show", "--json", "--policy", str(path)).json()["policy"]  # gone from the merge itself
    assert "chat" not in [rule["name"] for rule in shown["classify"]["rules"]]
    assert "greeting" not in [hint["name"] for hint in shown["complexity"]["hints"]]
    assert not any("'hello'" in e for e in data["complexity_evidence"])  # the greeting hint no longer fires


def test_new_and_unnamed_rules_are_added_first_with_stable_names(home, tmp_path):
    text = (
        "classify:\n  rules:\n"
        "    - {name: deploy, task: safety, weight: 9, patterns: ['\\bkubectl apply\\b']}\n"
        "    - task: extract\n      weight: 50\n      patterns: ['\\binvoice\\b']\n"
        "complexity:\n  hints:\n    - {weight: 3, pattern: '\\bkernel\\b'}\n"
    )
    policy, _ = _load(tmp_path, text)
    names = list(_rules(policy))
    assert names[0] == "deploy" and names[1].startswith("extract-") and len(names) == 10
    moved, _ = _load(tmp_path, "\n\n# moved down\n" + text)  # a derived name follows the content, not the line
    assert list(_rules(moved)) == names
    assert any(hint.name.startswith("hint-") for hint in policy.complexity.hints)
    assert len(policy.complexity.hints) == 8


def test_an_unnamed_copy_of_a_default_hint_counts_once(home, tmp_path, route):
    text = "complexity:\n  hints:\n    - {weight: -2, pattern: '^\\s*(hi|hello|hey|thanks|thank\\s+you)\\b'}\n"
    policy, path = _load(tmp_path, text)
    assert [hint.name for hint in policy.complexity.hints].count("greeting") == 1
    assert len(policy.complexity.hints) == 7
    data = route("explain", "hello", "--policy", str(path), "--json", env=ALL_KEYS).json()
    assert sum("'hello'" in e for e in data["complexity_evidence"]) == 1


def test_escalation_level_replaced_and_removed_by_threshold(home, tmp_path):
    text = "escalation:\n  - {above_tokens: 50000, enabled: false}\n  - {above_tokens: 128000, min_context: 500000}\n"
    policy, _ = _load(tmp_path, text)
    assert [(lv.above_tokens, lv.min_context, lv.min_tier) for lv in policy.escalation] == [(128000, 500000, None)]
    assert policy.raw["escalation"] == [{"above_tokens": 128000, "min_context": 500000}]  # as `policy show` shows it


def test_naming_mistakes_are_reported(route, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "classify:\n  rules:\n"
        "    - {name: mine, task: code, patterns: [x]}\n"
        "    - {name: mine, task: code, patterns: [y]}\n"
        "    - {name: chatty, enabled: false}\n"
        "escalation:\n  - {above_tokens: 7, enabled: false}\n",
        encoding="utf-8",
    )
    result = route("policy", "validate", str(path))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    assert f"{path}:4:" in lines[0] and "'mine' is used twice" in lines[0]
    assert f"{path}:5:" in lines[1] and "no default rule named 'chatty'" in lines[1] and "known: safety" in lines[1]
    assert f"{path}:7:" in lines[2] and "no default escalation level at above_tokens 7" in lines[2]


DIFF_POLICY = """\
models:
  claude-haiku:
    tier: 3
    provider: anthropic
  my-finetune: {provider: openai, id: ft-1, context: 128000, max_output: 16000, tier: 2}
classify:
  rules:
    - {name: deploy, task: safety, weight: 9, patterns: ['\\bkubectl apply\\b']}
    - {name: chat, enabled: false}
    - {name: code, task: code, weight: 5, patterns: ['\\bpython\\b']}
escalation:
  - {above_tokens: 50000, min_context: 300000}
budgets:
  per_day: 20
"""


def test_show_diff_names_each_change_and_where(route, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(DIFF_POLICY, encoding="utf-8")
    result = route("policy", "show", "--diff", "--policy", str(mine))
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert str(mine) in header and "routes.yaml" in header
    assert lines[0] == f"models.claude-haiku.tier: 2 -> 3  ({mine}:3)"  # provider: anthropic is no change
    assert lines[1].startswith("models.my-finetune: (not set) -> {provider: openai, id: ft-1,")
    assert lines[1].endswith(f"({mine}:5)")
    assert lines[2].startswith("classify.rules.deploy: (not set) -> {name: deploy, task: safety,")
    assert lines[3] == f"classify.rules.code.weight: 4 -> 5  ({mine}:10)"
    assert lines[4].startswith("classify.rules.code.patterns: [")
    assert lines[4].endswith(f"-> [\\bpython\\b]  ({mine}:10)")
    assert lines[5].startswith("classify.rules.chat: {name: chat,") and lines[5].endswith(f"-> (removed)  ({mine}:9)")
    assert lines[6] == f"escalation.50000.min_context: 200000 -> 300000  ({mine}:12)"
    assert len(lines) == 7  # budgets.per_day: 20 is the default's 20.00
    data = route("policy", "show", "--diff", "--json", "--policy", str(mine)).json()
    assert data["sources"][-1] == str(mine)
    assert data["changes"][0] == {
        "path": "models.claude-haiku.tier",
        "change": "changed",
        "old": 2,
        "new": 3,
        "file": str(mine),
        "line": 3,
    }
    assert [c["change"] for c in data["changes"]].count("removed") == 1


def test_show_diff_without_changes(route, tmp_path):
    assert route("policy", "show", "--diff").stdout == "No changes from the default policy.\n"
    same = tmp_path / "same.yaml"
    same.write_text("budgets:\n  per_day: 20\nmodels:\n  local: {tier: 1}\n", encoding="utf-8")
    assert route("policy", "show", "--diff", "--policy", str(same)).stdout == "No changes from the default policy.\n"


def test_show_diff_masks_keys(route, tmp_path):
    key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
    plain_key = "hunter2hunter"  # no known shape: masked because OPENAI_API_KEY holds it right now
    mine = tmp_path / "mine.yaml"
    url = f"https://u:{key}@proxy.example.com/v1?tag={plain_key}"
    mine.write_text(f"providers:\n  openai:\n    base_url: {url}\n", encoding="utf-8")
    for args in ((), ("--json",)):
        result = route("policy", "show", "--diff", "--policy", str(mine), *args, env={"OPENAI_API_KEY": plain_key})
        assert result.returncode == 0 and "proxy.example.com" in result.stdout
        assert key not in result.stdout and plain_key not in result.stdout
