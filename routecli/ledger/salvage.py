"""A damaged ledger (random bytes, a truncated file) never stops work: it is set aside, never deleted, and the
rows SQLite can still read go into a fresh ledger (or, for a read-only look such as `route explain`, into memory)."""

from __future__ import annotations

import contextlib
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from routecli import paths
from routecli.errors import LedgerError
from routecli.ledger.store import COLUMNS, Ledger

# Columns a row cannot be written without (NOT NULL in the schema).
_REQUIRED = (
    "ts",
    "day",
    "request_id",
    "command",
    "alias",
    "provider",
    "model_id",
    "chain_position",
    "try_number",
    "status",
    "usage_estimated",
)


def read_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every attempt SQLite can still read from a damaged file, in COLUMNS order; best effort, never raises."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        return []
    found: dict[int, tuple[Any, ...]] = {}
    try:
        conn.execute("PRAGMA writable_schema = ON")  # a truncated file: read the pages that are there
        have = {row[1] for row in conn.execute("PRAGMA table_info(attempts)")}
        columns = [c for c in COLUMNS if c in have]
        if not columns or "id" not in have:
            return []
        select = f"SELECT id, {', '.join(columns)} FROM attempts"
        # Forwards until a damaged page stops the scan, then backwards from the end to reach rows beyond it.
        for order in ("ASC", "DESC"):
            with contextlib.suppress(sqlite3.Error):
                for row in conn.execute(f"{select} ORDER BY id {order}"):
                    if row[0] in found:
                        break
                    data = dict(zip(columns, row[1:], strict=True))
                    if all(data.get(name) is not None for name in _REQUIRED) and not _zeroed(data):
                        found[row[0]] = tuple(data.get(c) for c in COLUMNS)
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return [found[key] for key in sorted(found)]


def _zeroed(data: dict[str, Any]) -> bool:
    """Text of NUL bytes: a zeroed stretch of a truncated page read as a row, not a row."""
    return any(isinstance(data.get(name), str) and "\x00" in data[name] for name in _REQUIRED)


def _still_damaged(path: Path) -> bool:
    """Checked again just before moving the file, so a ledger another process has just rebuilt stays put."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]
    except sqlite3.DatabaseError as error:
        return "not a database" in str(error) or "malformed" in str(error)
    finally:
        conn.close()


def set_aside(path: Path) -> Path:
    """Rename the damaged ledger (and its -wal / -shm) to `<name>.damaged-<timestamp>`; returns the new path."""
    try:
        return paths.set_aside(path)
    except OSError as error:
        raise LedgerError(f"cannot set the damaged ledger {path} aside: {error.strerror or error}") from None


def repair(path: Path, reason: str) -> str:
    """Set a damaged ledger aside and salvage its readable rows into a fresh one; returns the one-line notice.
    Raises LedgerError when the folder cannot be written (the caller then keeps rows pending)."""
    if not _still_damaged(path):
        return f"the ledger {path} was damaged and has been rebuilt by another route"
    target = set_aside(path)
    values = read_rows(target)
    with Ledger(path) as fresh:
        fresh.write_values(values)
    return (
        f"the ledger {path} was damaged ({reason}); it was set aside as {target.name} and "
        f"{len(values):,} readable rows were salvaged into a fresh ledger"
    )


def salvaged_spend(path: Path, starts: tuple[float, ...]) -> tuple[list[Decimal], int]:
    """What the readable rows of a damaged ledger say was spent since each start, without writing anything."""
    values = read_rows(path)
    with Ledger(Path(":memory:")) as memory:
        memory.write_values(values)
        return [memory.spent_since(start) for start in starts], len(values)
