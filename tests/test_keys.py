"""Keys are never printed: a key pasted where a variable name belongs is refused without being echoed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import provider_env
from fakeprovider import Fault, Reply

from routecli.policy.environment import mask

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


# ----------------------------------------------------------------------------- files route writes are private


@pytest.fixture
def loose_umask():
    """The usual umask (022), under which a plain open() makes files everyone can read."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ledger_cooldowns_and_caches_are_readable_by_the_user_only(route, home, fake_provider, loose_umask):
    (home / "cache" / "prices.json").unlink()  # resolved again, so written by this run
    fake_provider.script("anthropic", Fault("529"))  # a fallback, and a cooldown written to disk
    assert route("ask", "hello there!", env=provider_env(fake_provider)).returncode == 0
    written = [
        home / "data" / "ledger.sqlite3",
        home / "state" / "cooldowns.json",
        home / "cache" / "policy.json",
        home / "cache" / "prices.json",
    ]
    for path in written:
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
    for folder in ("data", "state", "cache"):
        assert _mode(home / folder) == 0o700, (folder, oct(_mode(home / folder)))


def test_ledger_wal_and_shm_are_readable_by_the_user_only(home, loose_umask):
    from routecli.ledger.store import Ledger

    path = home / "data" / "ledger.sqlite3"
    with Ledger(path):  # open: WAL mode, migrated, so both sidecars exist
        sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in sidecars)
        for p in [path, *sidecars]:
            assert _mode(p) == 0o600, (p, oct(_mode(p)))


def test_pending_rows_are_readable_by_the_user_only(route, home, fake_provider, tmp_path, loose_umask):
    ledger = home / "data" / "ledger.sqlite3"
    ledger.mkdir(parents=True)  # a folder where the ledger file should be: it cannot be opened, so rows wait
    no_budgets = tmp_path / "nobudget.yaml"
    no_budgets.write_text("budgets: {per_day: null, per_month: null}\n")
    fake_provider.script("mistral", Reply(text="still answered"))
    result = route("ask", "hi", "-m", "mistral-small", "--policy", str(no_budgets), env=provider_env(fake_provider))
    assert result.returncode == 8 and result.stdout == "still answered\n", result.stderr
    pending = ledger.with_name(ledger.name + ".pending.jsonl")
    assert pending.exists() and _mode(pending) == 0o600, oct(_mode(pending))


def test_discovery_cache_is_readable_by_the_user_only(home, loose_umask):
    from routecli.local import discover

    path = home / "cache" / discover.CACHE_NAME
    discover._save_cache(path, "k", 0.0, {})
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_an_old_world_readable_file_is_tightened_on_write(home, loose_umask):
    from routecli.ledger import cooldowns

    path = home / "state" / "cooldowns.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    path.parent.chmod(0o755)
    path.chmod(0o644)
    cooldowns.add(path, "provider:anthropic", 60, "529 overloaded")
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700


# ----------------------------------------------------------------------------- every renderer masks the same way


@pytest.mark.parametrize(
    "args",
    [
        ("explain", "hello", "-m", "pasted"),
        ("explain", "hello", "-m", "pasted", "--json"),
        ("models",),
        ("models", "--json"),
        ("doctor",),
        ("doctor", "--json"),
        ("policy", "show"),
    ],
)
def test_a_key_pasted_elsewhere_in_the_policy_is_masked_by_every_renderer(route, tmp_path, args):
    path = tmp_path / "elsewhere.yaml"
    path.write_text(
        "models:\n  pasted:\n    provider: anthropic\n"
        f"    id: {FAKE_KEY}\n    context: 100000\n    max_output: 1000\n    tier: 1\n"
    )
    result = route(*args, "--policy", str(path), env={"ANTHROPIC_API_KEY": "sk-ant-test-anthropic-0001"})
    assert "Traceback" not in result.stderr
    _no_part_of_key(result.stdout + result.stderr)
    from routecli.policy.environment import mask

    if args[0] != "doctor":  # doctor names no model ids
        assert mask(FAKE_KEY) in result.stdout + result.stderr, (result.stdout, result.stderr)


def _raw_files(folder: Path, name: str) -> bytes:
    """A SQLite file as it lies on disk, with its write-ahead log and journal: what a backup would copy."""
    return b"".join(path.read_bytes() for path in folder.glob(name + "*") if path.is_file())


def test_a_held_key_sent_with_allow_secrets_is_masked_before_it_is_written(route, fake_provider, home):
    """--allow-secrets sends the key; the history and a logged prompt keep only its mask (a key route holds,
    whatever its shape: this one looks like no provider's, so only knowing it finds it)."""
    held = "zz-held-Q7wX2mPp9-Lr-Ks4Vb"  # MISTRAL_API_KEY; route holds it
    env = provider_env(fake_provider, MISTRAL_API_KEY=held)
    fake_provider.script("anthropic", Reply(text=f"Your key {held} looks revoked."))
    sent = route("ask", f"my key: {held}", "--allow-secrets", "--log-prompts", "-m", "claude-haiku", env=env)
    assert sent.returncode == 0, sent.stderr
    assert held in str(fake_provider.requests_for("anthropic")[-1].body)  # the provider got what was sent
    assert held in sent.stdout  # and the reply is printed as it came
    data = home / "data"
    for name in ("history.sqlite3", "ledger.sqlite3"):
        raw = _raw_files(data, name)
        assert raw and held.encode() not in raw, name
    assert f"my key: {mask(held)}".encode() in _raw_files(data, "ledger.sqlite3")  # the prompt, with the mask
    (kept,) = route("log", "--json", env=env).json()
    shown = route("log", "show", kept["id"], "--json", env=env).json()
    assert shown["prompt"] == f"my key: {mask(held)}" and shown["reply"] == f"Your key {mask(held)} looks revoked."
