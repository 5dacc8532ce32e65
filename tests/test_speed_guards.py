"""Speed is a feature: commands must not import provider SDKs (or the tokenizer) they do not need."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import _clean_env

SDKS = ("anthropic", "openai", "mistralai", "genai_prices", "tiktoken", "httpx")

PROBE = (
    "import sys, json, runpy\n"
    "sys.argv = ['route'] + json.loads(sys.argv[1])\n"
    "try:\n"
    "    from routecli.cli import main\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    "finally:\n"
    "    mods = sorted({m.split('.')[0] for m in sys.modules})\n"
    "    sys.stderr.write('MODULES ' + json.dumps(mods) + '\\n')\n"
)


def _modules(home, *args: str, cwd=None) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=_clean_env(home),
        timeout=60,
        cwd=cwd,
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES "))
    return set(json.loads(line[len("MODULES ") :]))


@pytest.mark.process
def test_help_and_explain_import_no_sdk(home):
    for args in (["--help"], ["explain", "hi"], ["explain", "hi", "--json"], ["models"]):
        loaded = _modules(home, *args)
        assert not loaded & {"anthropic", "openai", "mistralai"}, (args, loaded & set(SDKS))
    explain = _modules(home, "explain", "hi")
    assert "tiktoken" not in explain and "genai_prices" not in explain


@pytest.mark.process
def test_a_second_explain_loads_nothing_it_can_do_without(home):
    """Once the policy, its compiled patterns and its fingerprint are cached (the first run), `route explain`
    imports neither PyYAML nor hashlib (OpenSSL, ~5 ms) nor the HTTP client (no local server listens here)."""
    _modules(home, "explain", "hi")  # fills the caches
    second = _modules(home, "explain", "hi")
    assert not second & {"yaml", "hashlib", "_hashlib", "httpx2", "secrets"}, second & {"yaml", "hashlib", "httpx2"}


@pytest.mark.process
@pytest.mark.parametrize("folder_policy", ["a copy of the default", "one never trusted", "one trusted"])
def test_a_routes_yaml_in_the_folder_costs_no_parsing_or_hashing(home, tmp_path, folder_policy):
    """Running route in its own repository (./routes.yaml is the default) or in a cloned one (a policy not trusted)
    must not parse YAML or hash files on every run: a copy is compared byte for byte, and a file with no trust record
    needs no hash to be refused. A trusted one's redirects are found once per version of the file."""
    from routecli.policy.load import default_policy_path

    folder = tmp_path / "repo"
    folder.mkdir()
    text = default_policy_path().read_text(encoding="utf-8")
    if folder_policy != "a copy of the default":
        text = "providers:\n  openai:\n    base_url: http://127.0.0.1:9/v1\n"  # it redirects a key
    (folder / "routes.yaml").write_text(text, encoding="utf-8")
    if folder_policy == "one trusted":
        trusted = subprocess.run(
            [sys.executable, "-m", "routecli", "policy", "trust"], capture_output=True, text=True, env=_clean_env(home),
            cwd=folder, timeout=60,
        )
        assert trusted.returncode == 0, trusted.stderr
        shown = subprocess.run(
            [sys.executable, "-m", "routecli", "explain", "hi"], capture_output=True, text=True, env=_clean_env(home),
            cwd=folder, timeout=60,
        )
        assert "providers.openai.base_url" in shown.stderr + shown.stdout  # applied, and its redirect flagged
    _modules(home, "explain", "hi", cwd=folder)  # fills the caches
    second = _modules(home, "explain", "hi", cwd=folder)
    # A trusted file is hashed on every run (that is the check it has not changed); it is never parsed again.
    avoidable = {"yaml"} if folder_policy == "one trusted" else {"yaml", "hashlib", "_hashlib"}
    assert not second & avoidable, second & avoidable
