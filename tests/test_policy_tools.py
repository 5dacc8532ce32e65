"""`route policy show` (the merged policy, prices as comments, secrets masked) and `route policy validate`."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import REPO

from routecli.ui.policy_view import scrub, scrub_url

USER_POLICY = """\
models:
  claude-haiku:
    price: {input: 0.08, output: 0.4}
  my-finetune:
    provider: openai
    id: ft:gpt-5-mini:acme
    context: 128000
    max_output: 16000
    tier: 2
    price: {input: 0.5, output: 1.5}
tasks:
  chat:
    candidates: [claude-haiku, my-finetune]
"""


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_show_default_is_yaml_with_price_comments_that_validates_again(route, tmp_path):
    result = route("policy", "show")
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    default = yaml.safe_load((REPO / "routes.yaml").read_text())
    assert shown == default  # the same policy, key for key (comments and layout aside)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# The effective route policy: ") and lines[0].endswith("routes.yaml")
    haiku = next(line for line in lines if line.startswith("  claude-haiku:"))
    assert "# $" in haiku and " in / $" in haiku and "per 1M tokens" in haiku
    local = next(line for line in lines if line.startswith("  local:"))
    assert "$0.00 in / $0.00 out" in local and "(policy)" in local
    assert "strengths: [chat, extract, summarize, creative]" in result.stdout  # short lists stay on one line
    again = _write(tmp_path, result.stdout, "shown.yaml")
    check = route("policy", "validate", str(again))
    assert check.returncode == 0 and check.stdout == f"ok: {again} (14 models, 7 tasks)\n"


def test_show_merges_the_user_policy(route, tmp_path):
    mine = _write(tmp_path, USER_POLICY)
    result = route("policy", "show", "--policy", str(mine))
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout)
    assert shown["models"]["claude-haiku"]["price"] == {"input": 0.08, "output": 0.4}
    assert shown["models"]["claude-haiku"]["provider"] == "anthropic"  # merged field by field
    assert shown["tasks"]["chat"]["candidates"] == ["claude-haiku", "my-finetune"]
    assert f"with {mine} merged over it" in result.stdout.splitlines()[0]
    finetune = next(line for line in result.stdout.splitlines() if line.startswith("  my-finetune:"))
    assert "$0.50 in / $1.50 out" in finetune and "(policy)" in finetune
    data = route("policy", "show", "--json", env={"ROUTE_POLICY": str(mine)}).json()
    assert data["sources"][-1] == str(mine)
    assert data["policy"]["models"]["my-finetune"]["id"] == "ft:gpt-5-mini:acme"
    assert data["prices"]["my-finetune"]["input"] == "0.5" and data["prices"]["my-finetune"]["source"] == "policy"


def test_no_prices(route):
    result = route("policy", "show", "--no-prices")
    assert result.returncode == 0 and "# $" not in result.stdout and "per 1M tokens" not in result.stdout
    assert "prices" not in route("policy", "show", "--json", "--no-prices").json()


def test_show_never_prints_keys(route, tmp_path):
    key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
    mistral_like = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
    proxy_key = "hunter2hunter"  # no known shape: masked because PROXY_KEY holds it right now
    mine = _write(
        tmp_path,
        "providers:\n"
        "  proxy:\n    wire: openai\n    key_env: PROXY_KEY\n"
        f"    base_url: https://me:{key}@proxy.example.com/v1?api_key={mistral_like}&region=eu&tag={proxy_key}\n"
        "models:\n"
        "  proxied:\n    provider: proxy\n"
        f"    id: model-{mistral_like}\n    context: 1000\n    max_output: 100\n    tier: 1\n",
    )
    env = {"PROXY_KEY": proxy_key, "ANTHROPIC_API_KEY": key}
    for args in ((), ("--json",)):
        result = route("policy", "show", "--policy", str(mine), *args, env=env)
        assert result.returncode == 0, result.stderr
        for secret in (key, mistral_like, proxy_key):
            assert secret not in result.stdout and secret not in result.stderr
        assert "sk-…6789" in result.stdout and "region=eu" in result.stdout and "proxy.example.com/v1" in result.stdout


def test_scrub_helpers():
    assert scrub_url("https://api.example.com/v1") == "https://api.example.com/v1"
    assert scrub_url("http://u:pw-123456@h:8/x?key=zzzzzzzz&a=1") == "http://u:…3456@h:8/x?key=…zz&a=1"
    assert scrub("id claude-haiku-5-5 stays") == "id claude-haiku-5-5 stays"
    assert scrub("token sk-proj-AAAAAAAAAAAAAAAAAAAA1234 here") == "token sk-…1234 here"
    assert scrub("has my secret value inside", ["my secret value"]) == "has …alue inside"


def test_show_broken_policy_is_one_line(route, tmp_path):
    bad = _write(tmp_path, "tasks:\n  chat:\n    candidates: [claude-haiku, gpt-17]\n")
    result = route("policy", "show", "--policy", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and f"{bad}:3:" in result.stderr


def test_validate(route, tmp_path):
    good = _write(tmp_path, USER_POLICY)
    result = route("policy", "validate", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ok: {good} (15 models, 7 tasks)\n"
    bad = _write(tmp_path, "models:\n  claude-haiku:\n    price: {input: -1, output: 2}\n", "bad.yaml")
    result = route("policy", "validate", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:3:" in lines[0] and "negative" in lines[0]
    missing = route("policy", "validate", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 2 and "missing.yaml" in missing.stderr and "Traceback" not in missing.stderr
    assert route("policy").returncode in (0, 2)  # no subcommand: help, not a crash
