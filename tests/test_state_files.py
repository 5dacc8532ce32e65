"""Files route keeps beside the ledger (cooldowns in state/, caches in cache/) and the files it writes on request:
damage or a folder that cannot be written never becomes an internal error."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import AS_ROOT, provider_env, read_only_folder
from fakeprovider import Fault, Reply

# --- cooldowns whose numbers are not a time -------------------------------------------------------------------

# Each is what `until` holds in the file as written (JSON text): overflowing a date, infinite, not a number.
BAD_UNTILS = ["1e20", "1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 400, '"1e20"', "1e12"]


@pytest.mark.parametrize("until", BAD_UNTILS)
def test_a_cooldown_that_is_no_time_is_ignored(route, home, fake_provider, until):
    state = home / "state"
    state.mkdir()
    good_until = time.time() + 120
    bad = '"provider:anthropic": {"until": ' + until + ', "reason": "x"}'
    good = f'"model:gpt-mini": {{"until": {good_until!r}, "reason": "429"}}'
    (state / "cooldowns.json").write_text("{" + bad + ", " + good + "}")
    listed = route("cooldowns", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["key"] for row in listed.json()] == ["model:gpt-mini"]  # the sound entry stays in force
    assert route("cooldowns").returncode == 0
    doctor = route("doctor", "--json")
    assert doctor.returncode != 1 and "Traceback" not in doctor.stderr, doctor.stderr
    assert [row["key"] for row in doctor.json()["cooldowns"]] == ["model:gpt-mini"]
    env = provider_env(fake_provider)
    explained = route("explain", "hi", env=env)
    assert explained.returncode == 0, explained.stderr
    fake_provider.script("mistral", Reply(text="answered"))
    asked = route("ask", "hi", "-m", "mistral-small", env=env)
    assert asked.returncode == 0 and asked.stdout == "answered\n", asked.stderr
    assert route("cooldowns", "clear").returncode == 0


def test_a_shared_cooldown_that_is_no_time_is_ignored(route, home, fake_provider, pg_url):
    from test_postgres_cli import pg_rows

    env = {**provider_env(fake_provider), "ROUTE_LEDGER_URL": pg_url}
    assert route("ledger", "sync", env=env).returncode == 0  # the tables exist
    for key, until in (("provider:anthropic", "1e20"), ("provider:openai", "Infinity"), ("model:gpt", "NaN")):
        pg_rows(pg_url, "INSERT INTO cooldowns VALUES (%s, %s::float8, 'x') RETURNING key", (key, until))
    pg_rows(pg_url, "INSERT INTO cooldowns VALUES ('model:gpt-mini', %s, '429') RETURNING key", (time.time() + 120,))
    listed = route("cooldowns", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    doctor = route("doctor", "--json", env=env)
    assert doctor.returncode != 1 and "Traceback" not in doctor.stderr, doctor.stderr
    assert [row["key"] for row in doctor.json()["cooldowns"]] == ["model:gpt-mini"]
    explained = route("explain", "hi", env=env)
    assert explained.returncode == 0, explained.stderr


# --- route completion --write ---------------------------------------------------------------------------------


def test_completion_into_a_file_is_a_usage_error(route, tmp_path):
    target = tmp_path / "f"
    target.write_text("mine")
    for where in (target, target / "sub"):
        result = route("completion", "--write", str(where))
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"route: error: --write needs a folder, and {target} is a file\n"
    assert target.read_text() == "mine"


def test_completion_into_a_folder_that_cannot_be_written_is_one_line_and_exit_3(route, tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", refuse)
    result = route("completion", "--write", str(tmp_path / "out"))
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr == f"route: error: cannot write {tmp_path / 'out' / 'route.bash'}: Permission denied\n"


def test_completion_into_a_read_only_folder_is_one_line_and_exit_3(route, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only_folder(folder):
        result = route("completion", "--write", str(folder))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"route: error: cannot write {folder / 'route.bash'}: ")
    assert result.stderr.count("\n") == 1


# --- state/ and cache/ that cannot be written only cost speed -----------------------------------------------------


def test_read_only_state_and_cache_folders_cost_nothing_but_speed(route, home, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("mistral", Reply(text="first"))
    assert route("ask", "hi", "-m", "mistral-small", env=env).returncode == 0
    (home / "state").mkdir(exist_ok=True)
    with read_only_folder(home / "state"), read_only_folder(home / "cache"):
        fake_provider.script("anthropic", Fault("529"))
        fake_provider.script("mistral", Reply(text="answered"))
        asked = route("ask", "hi", env=env)  # a cooldown that cannot be remembered
        assert asked.returncode == 0 and asked.stdout.endswith("answered\n"), asked.stderr
        for command in (("explain", "hi"), ("cooldowns",), ("models",), ("doctor",), ("policy", "show")):
            result = route(*command, env=env)
            assert result.returncode in (0, 7) and "Traceback" not in result.stderr, (command, result.stderr)
    assert json.loads((home / "cache" / "prices.json").read_text())  # still the cache it was


def test_a_cache_that_cannot_be_finished_leaves_no_half_written_file(tmp_path, monkeypatch):
    from routecli import paths

    target = tmp_path / "cache" / "prices.json"
    paths.write_private(target, "old")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "replace", full_disk)
    with pytest.raises(OSError):
        paths.write_private(target, "new" * 1000)
    monkeypatch.undo()
    assert sorted(p.name for p in target.parent.iterdir()) == ["prices.json"] and target.read_text() == "old"


def test_a_full_cache_folder_costs_only_speed(route, home, fake_provider):
    cache = home / "cache"
    for name in os.listdir(cache):
        os.unlink(cache / name)  # the prices are resolved again, and cannot be cached
    if not AS_ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(cache)]).returncode:
        pytest.skip("needs root to mount a tmpfs")
    try:
        fd = os.open(cache / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 512)
        os.close(fd)
        env = provider_env(fake_provider)
        fake_provider.script("mistral", Reply(text="answered"))
        asked = route("ask", "hi", "-m", "mistral-small", env=env)
        assert asked.returncode == 0 and asked.stdout == "answered\n", asked.stderr
        assert route("explain", "hi", env=env).returncode == 0
        assert [name for name in os.listdir(cache) if name.endswith(".tmp")] == []
    finally:
        subprocess.run(["umount", "-l", str(cache)], check=True)
