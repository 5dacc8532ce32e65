"""Keys are never printed: a key pasted where a variable name belongs is refused without being echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

FAKE_KEY = "sk-ant-api03-Zq7XwT2mPp9LrKs4VbNc8JhYd1FgQe6UoIaWx5Ez3RtBn0Mv"
_PIECES = [FAKE_KEY[i : i + 8] for i in range(0, len(FAKE_KEY) - 8, 4)]  # any 8 characters of it


def _pasted(tmp_path: Path, value: str = FAKE_KEY) -> Path:
    path = tmp_path / "pasted.yaml"
    path.write_text(f"providers:\n  anthropic:\n    key_env: {value}\n")
    return path


def _no_part_of_key(text: str) -> None:
    for piece in _PIECES:
        assert piece not in text, (piece, text)


@pytest.mark.parametrize(
    "args",
    [
        ("doctor",),
        ("doctor", "--json"),
        ("explain", "hello"),
        ("explain", "hello", "--json"),
        ("models",),
        ("ask", "hello"),
        ("policy", "show"),
        ("policy", "show", "--json"),
    ],
)
def test_pasted_key_in_key_env_is_refused_and_never_printed(route, tmp_path, args):
    path = _pasted(tmp_path)
    result = route(*args, "--policy", str(path))
    _no_part_of_key(result.stdout + result.stderr)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert f"{path}:3:" in result.stderr
    assert "looks like an API key, not a variable name" in result.stderr
    assert "Traceback" not in result.stderr


def test_policy_validate_says_why_without_the_key(route, tmp_path):
    path = _pasted(tmp_path)
    result = route("policy", "validate", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}:3:" in lines[0], result.stderr
    assert "key_env looks like an API key, not a variable name; put the key in the environment" in lines[0]
    _no_part_of_key(result.stdout + result.stderr)


@pytest.mark.parametrize("value", ["anthropic_key", "MY KEY", "1KEY"])
def test_key_env_must_be_a_variable_name(route, tmp_path, value):
    path = tmp_path / "bad.yaml"
    path.write_text(f"providers:\n  anthropic:\n    key_env: '{value}'\n")
    result = route("policy", "validate", str(path))
    assert result.returncode == 2 and f"{path}:3:" in result.stderr
    assert "must name an environment variable" in result.stderr
    assert value not in result.stderr


def test_a_plain_variable_name_is_fine(route, tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("providers:\n  anthropic:\n    key_env: MY_ANTHROPIC_KEY_2\n")
    result = route("policy", "validate", str(path))
    assert result.returncode == 0, result.stderr
