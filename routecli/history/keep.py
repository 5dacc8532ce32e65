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
from routecli.waiting_lines import Read, abandoned, claim, keep_aside, put_back, read_lines, unreadable_notice


def keep(path: Path, exchange: Exchange) -> str | None:
    """Write one exchange; returns a notice for the person (damage repaired, kept pending, unreadable pending
    lines set aside), else None."""
    notices: list[str] = []
    try:
        try:
            notices = _write(path, [exchange])
        except DamagedHistoryError as error:
            notices = [repair(path, error.message), *_write(path, [exchange])]
    except HistoryError as error:
        kept = _keep_pending(path, exchange)
        where = f"; it waits in {kept} for the next run" if kept else "; this exchange is not kept"
        return f"{error.message}{where}"
    return "; ".join(notices) or None


def open_to_read(path: Path) -> tuple[History, str | None]:
    """The history opened read-only (a missing one is empty), repairing a damaged one first when possible."""
    try:
        return History(path, readonly=True), None
    except DamagedHistoryError as error:
        notice = repair(path, error.message)
        return History(path, readonly=True), notice


def _write(path: Path, exchanges: list[Exchange]) -> list[str]:
    """Write `exchanges` with those waiting in pending files (claimed first, so a run appending meanwhile starts
    a new file); returns notices about unreadable pending lines, set aside."""
    with History(path) as history:
        claimed = _claim_pending(path)
        waiting: list[Exchange] = []
        unreadable: list[tuple[Path, list[bytes]]] = []
        for batch, pending in claimed:
            lines = _read_batch(batch)
            waiting += lines.items
            if lines.unreadable:
                unreadable.append((pending, lines.unreadable))
        try:
            history.add([*waiting, *exchanges])
        except HistoryError:
            for batch, pending in claimed:  # only once they are written: a failed write leaves them waiting
                put_back(batch, pending)
            raise
    for batch, _ in claimed:
        with contextlib.suppress(OSError):
            batch.unlink()
    return [unreadable_notice(len(lines), keep_aside(pending, lines), pending) for pending, lines in unreadable]


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


def _claim_pending(path: Path) -> list[tuple[Path, Path]]:
    """(claimed batch, the pending file it belongs to) for each batch waiting, abandoned claims included
    (INSERT OR IGNORE makes importing one twice harmless)."""
    claimed = []
    for pending in pending_paths(path):
        for number, batch in enumerate(([pending] if pending.exists() else []) + abandoned(pending)):
            with contextlib.suppress(OSError):
                claimed.append((claim(batch, pending, number), pending))
    return claimed


def _read_batch(batch: Path) -> Read:
    try:
        return read_lines(batch, _exchange_line)
    except OSError:
        return Read([], [])


def _exchange_line(values: Any) -> Exchange:
    """One pending line back into an exchange; refused (TypeError) when `route log` could not show it."""
    found = Exchange.from_values(values)
    texts = (found.id, found.cid, found.command, found.prompt, found.reply)
    if not all(isinstance(text, str) for text in texts) or type(found.ts) not in (int, float) or found.ts != found.ts:
        raise TypeError("not an exchange")
    return found


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
