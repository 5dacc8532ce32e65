"""Every test runs `route` the way a user would, in its own home, with no keys unless it sets them: in this process
(`route`) unless it needs a real one (`route_process`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_route

pytest_plugins = ["fakeprovider", "pgserver"]  # every wire protocol on 127.0.0.1; a throwaway PostgreSQL

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

# Variables a developer's shell may carry that would change what route does.
_SCRUB_PREFIXES = ("ROUTE_",)
_SCRUB_SUFFIXES = ("_API_KEY", "_BASE_URL")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """`folder` immutable: nothing can be created, renamed or deleted in it (root too). Skips without root."""
    if not AS_ROOT or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("needs root and a file system with chattr")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.fixture(autouse=True)
def _own_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own temporary folder (for route in this process and in children), so nothing route
    puts there, such as a pending ledger file, is left in the system's temporary folder."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))


def on_a_terminal(
    env: dict[str, str], *args: str, stream: str = "stdout", cwd: str | None = None
) -> tuple[int, str]:
    """Run route with `stream` (stdout or stderr) on a pseudo-terminal and the other on a pipe: the exit code and
    what the terminal received, as sent (line ends are the terminal's \\r\\n)."""
    import pty

    master, slave = pty.openpty()
    terminal, piped = (slave, subprocess.PIPE)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "routecli", *args], stdin=subprocess.DEVNULL, env=env, cwd=cwd,
            stdout=terminal if stream == "stdout" else piped, stderr=terminal if stream == "stderr" else piped,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        other = proc.stderr if stream == "stdout" else proc.stdout
        other.read()
        code = proc.wait(timeout=60)
        other.close()
    finally:
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(autouse=True)
def _room_to_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery gives local servers 0.3 s to list their models: plenty for a real one, not for the tests' fake
    servers, which share this process (and two loaded cores) with the probe. A test of the deadline sets it back."""
    from routecli.local import discover

    monkeypatch.setattr(discover, "PROBE_TIMEOUT", 5.0)


@pytest.fixture(autouse=True)
def _no_ledger_connection_outlives_its_test() -> Iterator[None]:
    """A shared ledger's connections are kept for the rest of a run (ledger/pg_store.py); tests share a process."""
    yield
    store = sys.modules.get("routecli.ledger.pg_store")
    if store is not None:
        store._idle.close_all()


@pytest.fixture(scope="session")
def price_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Resolve prices once per session; each test copies the cache instead of importing genai-prices."""
    home = tmp_path_factory.mktemp("price-home")
    env = _clean_env(home)
    subprocess.run([sys.executable, "-m", "routecli", "models", "--json"], env=env, capture_output=True, check=True)
    return home / "cache" / "prices.json"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES) and not k.endswith(_SCRUB_SUFFIXES)}
    env["ROUTE_HOME"] = str(home)
    env["NO_COLOR"] = "1"
    env["ROUTE_DISCOVER"] = "0"  # a local server on this machine must not change the tests' decisions
    env["PYTHONPATH"] = str(REPO)
    env.pop("COLUMNS", None)
    return env


@pytest.fixture
def home(tmp_path: Path, price_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ROUTE_HOME for this test, and the process environment scrubbed the same way."""
    route_home = tmp_path / "home"
    (route_home / "cache").mkdir(parents=True)
    if price_cache.exists():
        shutil.copy(price_cache, route_home / "cache" / "prices.json")
    for key in list(os.environ):
        if key.startswith(_SCRUB_PREFIXES) or key.endswith(_SCRUB_SUFFIXES):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ROUTE_HOME", str(route_home))
    monkeypatch.chdir(tmp_path)
    return route_home


ALL_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-test-anthropic-0001",
    "MISTRAL_API_KEY": "test-mistral-0002",
    "MOONSHOT_API_KEY": "sk-test-moonshot-0003",
    "OPENAI_API_KEY": "sk-test-openai-0004",
    "GEMINI_API_KEY": "test-gemini-0005",
}


@pytest.fixture
def route(home: Path) -> Iterator[Any]:
    """Run `route ARGS...` in this process (tests/inprocess.py): route("explain", "hi", input=..., env={...}).
    Same signature and Result as route_process; use that one when the test needs a real process."""

    def run(
        *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        full_env = _clean_env(home)
        full_env.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        code, stdout, stderr, seconds = run_route(args, data or b"", full_env, home.parent)
        if seconds > timeout:  # a child would have been killed: fail as subprocess.run would
            raise subprocess.TimeoutExpired(["route", *args], timeout, stdout, stderr)
        return Result(code, stdout, stderr)

    yield run


@pytest.fixture
def route_process(home: Path) -> Iterator[Any]:
    """Run `route ARGS...` in a real subprocess, for what needs one: signals, exit behaviour, a clean import."""

    def run(
        *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        full_env = _clean_env(home)
        full_env.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "routecli", *args],
            input=data if data is not None else b"",
            capture_output=True,
            env=full_env,
            timeout=timeout,
            cwd=home.parent,
        )
        return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))

    yield run


def provider_env(fake: Any, local: bool = False, **overrides: str) -> dict[str, str]:
    """Keys for every provider and every base URL pointed at the fake (Ollama's only with local=True,
    since pointing route at a local server switches it on)."""
    env = dict(ALL_KEYS)
    for name in ("anthropic", "openai", "moonshot", "gemini", "mistral") + (("ollama",) if local else ()):
        env[f"{name.upper()}_BASE_URL"] = fake.base_url(name)
    env.update(overrides)
    return env
