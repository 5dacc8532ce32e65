"""A throwaway PostgreSQL server for the tests: initdb in a temporary folder, listening only on a Unix socket.

`pg_server` starts one per test process (pytest-xdist worker) and stops it at the end; `pg_url` gives each test
a database of its own. As root (CI), the server runs as the `postgres` user through runuser, since PostgreSQL
refuses to run as root. Where PostgreSQL is not installed the tests skip, unless ROUTE_REQUIRE_POSTGRES=1
(.ci/run sets it), where they fail: CI must run them.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class PgServer:
    bin_dir: Path
    data: Path
    socket_dir: Path
    as_user: str | None  # run the server's tools as this user (when we are root)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://route@/{database}?host={self.socket_dir}"

    def tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / name), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c max_connections=200"
        done = self.tool(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data.parent / "log"), "-w", "start"
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}")

    def stop(self) -> None:
        self.tool("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.socket_dir, ignore_errors=True)


# The system's temporary folder, read before any test points TMPDIR at its own: the cluster lives outside
# pytest's numbered folders, which other pytest runs on the machine clean up (and a socket path must stay short).
_SYSTEM_TMP = tempfile.gettempdir()


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _unavailable(reason: str) -> None:
    if os.environ.get("ROUTE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (ROUTE_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"PostgreSQL tests need a local PostgreSQL server: {reason}")


def new_server() -> PgServer:
    """initdb a new cluster in a folder of its own (not started); the caller starts it and calls remove()."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install '.[test]')")
    bin_dir = _bin_dir()
    if bin_dir is None:
        _unavailable("initdb was not found (apt-get install postgresql)")
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="route-pg-", dir=_SYSTEM_TMP))
    as_user = "postgres" if os.geteuid() == 0 else None
    if as_user:
        shutil.chown(root, as_user)
        # runuser's user must be able to reach the folder: open the path above it for traversal.
        for parent in root.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    server = PgServer(bin_dir, root / "data", root, as_user)
    made = server.tool("initdb", "-D", str(server.data), "-A", "trust", "-U", "route", "--no-sync")
    if made.returncode != 0:
        server.remove()
        _unavailable(f"initdb failed: {(made.stderr or made.stdout).strip()[:300]}")
    return server


def _running() -> Iterator[PgServer]:
    """A new server, started, then stopped and removed (for the fixtures below)."""
    server = new_server()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.remove()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    yield from _running()


_databases = itertools.count()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the session's server, for one test."""
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.url(name)


@pytest.fixture(scope="module")
def pg_own_server() -> Iterator[PgServer]:
    """A server of the module's own, for tests that stop and start it (the session's one is shared)."""
    yield from _running()
