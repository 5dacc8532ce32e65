"""Keeping an exchange, and opening the history to read, so that history never stops work.

- A damaged file (random bytes, a truncated file) is set aside as `history.sqlite3.damaged-<time>` (never
  deleted), the rows SQLite can still read go into a fresh one, and one notice says so.
- An exchange that cannot be written (read-only folder, full disk) waits in a pending file (beside the history,
  else in the system's temporary folder) that the next write imports; the caller shows a notice, and the
  reply has been printed already.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from routecli.errors import DamagedHistoryError, HistoryError
from routecli.history.store import COLUMNS, Exchange, History
from routecli.paths import append_private, set_aside


def keep(path: Path, exchange: Exchange) -> str | None:
    """Write one exchange; returns a notice for the person (damage repaired, or kept pending), else None."""
    notice = None
    try:
        try:
            _write(path, [exchange])
        except DamagedHistoryError as error:
            notice = repair(path, error.message)
            _write(path, [exchange])
    except HistoryError as error:
        kept = _keep_pending(path, exchange)
        where = f"; it waits in {kept} for the next run" if kept else "; this exchange is not kept"
        return f"{error.message}{where}"
    return notice


def open_to_read(path: Path) -> tuple[History, str | None]:
    """The history opened read-only (a missing one is empty), repairing a damaged one first when possible."""
    try:
        return History(path, readonly=True), None
    except DamagedHistoryError as error:
        notice = repair(path, error.message)
        return History(path, readonly=True), notice


def _write(path: Path, exchanges: list[Exchange]) -> None:
    with History(path) as history:
        waiting, files = _pending(path)
        history.add([*waiting, *exchanges])
    for done in files:  # only once they are written: a failed write leaves them waiting
        with contextlib.suppress(OSError):
            done.unlink()


def pending_paths(path: Path) -> list[Path]:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    beside = path.with_name(path.name + ".pending.jsonl")
    return [beside, Path(tempfile.gettempdir()) / f"route-{uid}-{digest}.history.pending.jsonl"]


def _keep_pending(path: Path, exchange: Exchange) -> Path | None:
    for candidate in pending_paths(path):
        with contextlib.suppress(OSError), append_private(candidate) as handle:
            handle.write(json.dumps(list(exchange.values())) + "\n")
            return candidate
    return None


def _pending(path: Path) -> tuple[list[Exchange], list[Path]]:
    """The exchanges left pending by earlier runs, and the files they came from (INSERT OR IGNORE makes
    importing one twice harmless)."""
    found: list[Exchange] = []
    files: list[Path] = []
    for pending in pending_paths(path):
        try:
            lines = pending.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            with contextlib.suppress(ValueError, TypeError):
                found.append(Exchange.from_values(json.loads(line)))
        files.append(pending)
    return found, files


def repair(path: Path, reason: str) -> str:
    """Set a damaged history aside and salvage its readable rows into a fresh one; returns the notice.
    Raises HistoryError when the folder cannot be written."""
    try:
        target = set_aside(path)
    except OSError as error:
        raise HistoryError(f"{reason}; cannot set it aside: {error.strerror or error}") from None
    rows = _readable_rows(target)
    with History(path) as fresh:
        fresh.add(rows)
    return f"{reason}; it was set aside as {target.name} and {len(rows):,} readable exchanges were salvaged"


def _readable_rows(path: Path) -> list[Exchange]:
    """Every exchange SQLite can still read from a damaged file; best effort, never raises."""
    found: dict[str, Exchange] = {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        return []
    try:
        conn.execute("PRAGMA writable_schema = ON")  # a truncated file: read the pages that are there
        select = f"SELECT {', '.join(COLUMNS)} FROM exchanges"
        for order in ("ASC", "DESC"):  # forwards until a damaged page stops the scan, then from the end
            with contextlib.suppress(sqlite3.Error):
                for row in conn.execute(f"{select} ORDER BY rowid {order}"):
                    exchange = _exchange(row)
                    if exchange is not None:
                        if exchange.id in found:
                            break
                        found[exchange.id] = exchange
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return [found[key] for key in sorted(found)]


def _exchange(row: Any) -> Exchange | None:
    try:
        return Exchange.from_values(row)
    except (TypeError, ValueError, ArithmeticError):
        return None
