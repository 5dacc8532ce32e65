"""Every command runs on a fresh home: a module moved without its lazy imports following fails here."""

from __future__ import annotations

import pytest

COMMANDS = [
    ("paths",),
    ("paths", "--json"),
    ("models", "--json"),
    ("costs",),
    ("costs", "--json", "--by", "model"),
    ("stats", "--json"),
    ("doctor", "--json"),
    ("cooldowns",),
    ("cooldowns", "--json"),
    ("cooldowns", "clear"),
    ("policy", "show"),
    ("policy", "validate", "routes.yaml"),
    ("completion", "zsh"),
    ("local", "status", "--json"),
    ("explain", "hello there", "--json"),
    ("replay",),
    ("replay", "--json", "--since", "7d"),
    ("log",),
    ("log", "--json", "-n", "3", "-q", "x"),
    ("log", "status"),
    ("log", "off"),
    ("log", "on"),
    ("ledger", "sync"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args))
def test_command_runs(route, home, args):
    if "routes.yaml" in args:
        (home.parent / "routes.yaml").write_text("defaults:\n  profile: balanced\n", encoding="utf-8")
    result = route(*args)
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
