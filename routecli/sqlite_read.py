"""Opening one of route's SQLite files to read only, even where its folder cannot be written.

A database in WAL mode needs its -shm (and -wal) files beside it to be read; a plain read-only open creates them
when they are missing, and fails ("unable to open database file", or "disk I/O error" on a full disk) when the
folder is read-only or full. Such a file is then read as immutable: no locks, no -shm, only the database file
itself. A route that closed cleanly left everything there; what a writer still holds in a -wal that cannot be
opened is not seen, which for budgets and history is better than not reading at all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


def connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """`path` opened read-only, and read once (so a failure to open is raised here, as sqlite3.Error); read as
    immutable when the ordinary read-only open cannot create its -shm file."""
    try:
        return _connect(path, timeout, immutable=False)
    except sqlite3.OperationalError as error:
        if not _cannot_create_beside(error):
            raise
    return _connect(path, timeout, immutable=True)


def _connect(path: Path, timeout: float, immutable: bool) -> sqlite3.Connection:
    uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens the file, its -wal and -shm
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _cannot_create_beside(error: sqlite3.OperationalError) -> bool:
    """The errors of a -shm or -wal file that cannot be created (a read-only or full folder), not of a busy,
    damaged or missing database."""
    text = str(error).lower()
    return "unable to open" in text or "disk i/o error" in text or "readonly" in text
