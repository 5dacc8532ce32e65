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


def _modules(home, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=_clean_env(home),
        timeout=60,
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
