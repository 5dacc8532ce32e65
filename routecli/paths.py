"""Where route keeps its files. `ROUTE_HOME` moves all of them under one folder (tests use it)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import BinaryIO, TextIO

from routecli.values import frozen

APP_NAME = "route"


@frozen
class Paths:
    config_dir: Path  # the user's routes.yaml lives here
    data_dir: Path  # the cost ledger
    state_dir: Path  # cooldowns
    cache_dir: Path  # resolved prices
    ledger_url: str | None = None  # ROUTE_LEDGER_URL: a PostgreSQL ledger shared by a team, instead of the file

    @property
    def user_policy(self) -> Path:
        return self.config_dir / "routes.yaml"

    @property
    def ledger(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    @property
    def history(self) -> Path:
        """The exchanges of ask, summarize and chat (prompts and replies): beside the ledger, never in it."""
        return self.data_dir / "history.sqlite3"

    @property
    def history_switch(self) -> Path:
        """Whether history is kept (`route log on|off`)."""
        return self.config_dir / "history.json"

    @property
    def shared_ledger_stand_in(self) -> Path:
        """With a shared ledger, rows that could not reach the database wait beside this name (never a file)."""
        return self.data_dir / "shared-ledger"

    def with_ledger_url(self, url: str | None) -> Paths:
        """These paths with the policy's `ledger.url`, unless ROUTE_LEDGER_URL already chose (it wins)."""
        return self if self.ledger_url is not None or not url else dataclasses.replace(self, ledger_url=url)

    @property
    def cooldowns(self) -> Path:
        return self.state_dir / "cooldowns.json"

    @property
    def price_cache(self) -> Path:
        return self.cache_dir / "prices.json"

    @property
    def classifier_answers(self) -> Path:
        """The model classifier's answers (`classify.model`), by prompt hash."""
        return self.cache_dir / "classifier.json"


def get_paths() -> Paths:
    home = os.environ.get("ROUTE_HOME")
    url = os.environ.get("ROUTE_LEDGER_URL", "").strip() or None
    if home:
        base = Path(home).expanduser()
        return Paths(base / "config", base / "data", base / "state", base / "cache", url)
    import platformdirs  # imported here: only commands that touch files pay for it

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return Paths(
        Path(dirs.user_config_dir),
        Path(dirs.user_data_dir),
        Path(dirs.user_state_dir),
        Path(dirs.user_cache_dir),
        url,
    )


# Files route writes (ledger, pending rows, cooldowns, caches) are the user's alone: files 0600, folders 0700.
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_dir(path: Path) -> Path:
    """Make one of route's own folders (with its parents), readable by the user only."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a folder made by an older route, or by hand
        stat = path.stat()
        if stat.st_mode & 0o077 and stat.st_uid == os.getuid():
            path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` if missing (its folder too) and make it readable by the user only; SQLite gives the
    -wal and -shm files it makes beside a database the database file's mode."""
    private_dir(path.parent)
    os.close(_open_private(path, os.O_WRONLY | os.O_CREAT))
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` atomically (a temporary file, then a rename), readable by the user only."""
    private_dir(path.parent)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    mode, encoding = ("wb", None) if isinstance(data, bytes) else ("w", "utf-8")
    try:
        with os.fdopen(_open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), mode, encoding=encoding) as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:  # a full disk, Ctrl-C: no half-written file left behind to fill the folder further
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def append_private(path: Path) -> TextIO:
    """`path` opened for appending, created readable by the user only; never through a symlink (it may be in
    the shared temp folder)."""
    return os.fdopen(_open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW), "a", encoding="utf-8")


def append_private_bytes(path: Path) -> BinaryIO:
    """`path` opened for appending bytes, as `append_private` opens it for text."""
    return os.fdopen(_open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW), "ab")


def _open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        if os.fstat(fd).st_mode & 0o077:  # it existed already, made before route cared
            os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return fd


def set_aside(path: Path) -> Path:
    """Rename a damaged SQLite file (and its -wal / -shm) to `<name>.damaged-<timestamp>`, never over another one;
    returns the new path. Raises OSError when it cannot be moved. The ledger and the history both use it."""
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while target.exists():
        target = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
        number += 1
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.replace(path.with_name(path.name + suffix), target.with_name(target.name + suffix))
    return target
