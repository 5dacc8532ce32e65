"""The history database: one SQLite row per exchange, beside the ledger, written safely by many processes at once.

- WAL journal and a busy timeout, like the ledger, so parallel `route ask` runs lose nothing.
- Versioned with PRAGMA user_version from the start: `_MIGRATIONS[n]` takes a history from version n to n + 1.
- 0600 (paths.private_file): it holds prompts and replies.
- Attachments are kept as names and sizes only, never their content.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from routecli.errors import DamagedHistoryError, HistoryError, UsageError
from routecli.history.ids import looks_like_id
from routecli.paths import private_file
from routecli.sqlite_read import connect_readonly
from routecli.turns import Turn, exchange
from routecli.values import frozen

BUSY_TIMEOUT_MS = 10_000
WRITE_RETRIES = 5

_MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the exchanges table (conversations: `route ask -c`, `route chat`, `route log`).
    [
        """
    CREATE TABLE exchanges (
        id TEXT PRIMARY KEY,          -- short and sortable: base36 time + random (history/ids.py)
        cid TEXT NOT NULL,            -- the conversation it belongs to (same form)
        ts REAL NOT NULL,             -- unix time the exchange started
        command TEXT NOT NULL,        -- ask | summarize | chat
        system TEXT,
        prompt TEXT NOT NULL,         -- the instruction as sent (attachments are only named, below)
        attachments TEXT NOT NULL,    -- JSON [[name, bytes], ...]
        reply TEXT NOT NULL,
        status TEXT NOT NULL,         -- ok | interrupted
        alias TEXT,
        provider TEXT,
        model_id TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cost_usd TEXT,                -- exact decimal, every attempt of the exchange; NULL = unpriced
        task TEXT,
        reason TEXT
    )""",
        "CREATE INDEX exchanges_cid ON exchanges (cid, id)",
    ],
]
SCHEMA_VERSION = len(_MIGRATIONS)
COLUMNS = (
    "id", "cid", "ts", "command", "system", "prompt", "attachments", "reply", "status", "alias", "provider",
    "model_id", "input_tokens", "output_tokens", "cost_usd", "task", "reason",
)


class Status(str, Enum):  # noqa: UP042 - stored and shown as its plain value
    OK = "ok"
    INTERRUPTED = "interrupted"  # Ctrl-C: the partial reply is kept


@frozen
class Attached:
    name: str
    size: int  # bytes


@frozen
class Exchange:
    id: str
    cid: str
    ts: float
    command: str
    prompt: str
    reply: str
    status: Status = Status.OK
    system: str | None = None
    attachments: tuple[Attached, ...] = ()
    alias: str | None = None
    provider: str | None = None
    model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: Decimal | None = None
    task: str | None = None
    reason: str | None = None

    def values(self) -> tuple[Any, ...]:
        attached = json.dumps([[a.name, a.size] for a in self.attachments])
        cost = None if self.cost_usd is None else str(self.cost_usd)
        return (self.id, self.cid, self.ts, self.command, self.system, self.prompt, attached, self.reply,
                self.status.value, self.alias, self.provider, self.model_id, self.input_tokens, self.output_tokens,
                cost, self.task, self.reason)

    @classmethod
    def from_values(cls, row: Sequence[Any]) -> Exchange:
        data = dict(zip(COLUMNS, row, strict=True))
        try:
            attached = tuple(Attached(str(n), int(s)) for n, s in json.loads(data["attachments"] or "[]"))
        except (ValueError, TypeError):
            attached = ()
        data["attachments"] = attached
        data["status"] = Status.INTERRUPTED if data["status"] == Status.INTERRUPTED.value else Status.OK
        data["cost_usd"] = None if data["cost_usd"] is None else Decimal(data["cost_usd"])
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "cid": self.cid, "ts": self.ts, "command": self.command, "system": self.system,
            "prompt": self.prompt, "attachments": [{"name": a.name, "bytes": a.size} for a in self.attachments],
            "reply": self.reply, "status": self.status.value, "model": self.alias, "provider": self.provider,
            "model_id": self.model_id, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost_usd is None else float(self.cost_usd), "task": self.task,
            "reason": self.reason,
        }

    def turns(self) -> tuple[Turn, ...]:
        """This exchange as the earlier turns of a continued conversation. Attached files were not kept, so
        the model is told what was attached rather than being sent nothing for them."""
        if not self.reply.strip():  # interrupted before any text: there is no turn to continue from
            return ()
        prompt = self.prompt.strip()
        if self.attachments:
            named = ", ".join(f"{a.name} ({a.size:,} bytes)" for a in self.attachments)
            prompt = (prompt + "\n\n" if prompt else "") + f"[attached then, not kept: {named}]"
        return exchange(prompt, self.reply)


def _describe(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _is_damage(error: BaseException) -> bool:
    text = str(error)
    return "not a database" in text or "malformed" in text


class History:
    """An open history. Use as a context manager; every method raises HistoryError, never sqlite3 errors.
    `readonly` on a missing file opens an empty one in memory (reading creates nothing)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        try:
            if readonly:
                timeout = BUSY_TIMEOUT_MS / 1000
                if path.exists():  # a read-only or full folder too (sqlite_read.py)
                    self.conn = connect_readonly(path, timeout)
                else:
                    self.conn = sqlite3.connect(":memory:", timeout=timeout, isolation_level=None)
            else:
                private_file(path)  # 0600 in a 0700 folder; SQLite's -wal and -shm take the file's mode
                self.conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise self._error("cannot open", error) from None
        except OSError as error:
            raise HistoryError(f"cannot open the history {path}: {_describe(error)}") from None

    def _error(self, action: str, error: BaseException) -> HistoryError:
        if _is_damage(error):
            return DamagedHistoryError(f"the history {self.path} is damaged ({_describe(error)})")
        return HistoryError(f"{action} the history {self.path}: {_describe(error)}")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history {self.path} has schema version {version}, newer than this route "
                               f"({SCHEMA_VERSION}); upgrade route")
        if version == SCHEMA_VERSION:
            return
        if self.readonly:
            if version:  # an older history, read without writing: the next writer migrates it
                raise HistoryError(f"the history {self.path} is from an older route; it is upgraded on the next "
                                   "`route ask`")
            self.conn.close()  # an empty file: nothing to read, so read an empty history in memory
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self._transaction(self._upgrade)

    def _upgrade(self) -> None:
        current = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(current, SCHEMA_VERSION):  # another process may have migrated meanwhile
            for statement in _MIGRATIONS[step]:
                self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {step + 1}")

    def _transaction(self, work: Callable[[], object]) -> None:
        """`work` in one write transaction, retried while another process holds the lock."""
        for attempt in range(WRITE_RETRIES):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                work()
                self.conn.execute("COMMIT")
                return
            except sqlite3.DatabaseError as error:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                locked = isinstance(error, sqlite3.OperationalError) and "locked" in str(error)
                if not locked or attempt == WRITE_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing and reading ---------------------------------------------------------------------------

    def add(self, exchanges: Sequence[Exchange]) -> None:
        sql = f"INSERT OR IGNORE INTO exchanges ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        try:
            self._transaction(lambda: self.conn.executemany(sql, [e.values() for e in exchanges]))
        except sqlite3.DatabaseError as error:
            raise self._error("cannot write to", error) from None

    def _select(self, where: str = "", params: Sequence[Any] = (), tail: str = "") -> list[Exchange]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM exchanges {where} {tail}"
        try:
            return [Exchange.from_values(row) for row in self.conn.execute(sql, tuple(params))]
        except sqlite3.DatabaseError as error:
            raise self._error("cannot read", error) from None

    def recent(self, limit: int, query: str | None = None, cid: str | None = None) -> list[Exchange]:
        """The last `limit` exchanges (matching `query` in prompt or reply, of conversation `cid`), oldest first."""
        clauses, params = [], []
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("(prompt LIKE ? ESCAPE '\\' OR reply LIKE ? ESCAPE '\\')")
            params += [f"%{escaped}%"] * 2
        if cid:
            clauses.append("cid = ?")
            params.append(self.resolve_cid(cid))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select(where, [*params, limit], "ORDER BY id DESC LIMIT ?")[::-1]

    def find(self, prefix: str) -> Exchange:
        """The one exchange whose id starts with `prefix`."""
        found = self._by_prefix("id", prefix)
        return self._select("WHERE id = ?", [found])[0]

    def resolve_cid(self, prefix: str) -> str:
        """The one conversation id that starts with `prefix`."""
        return self._by_prefix("cid", prefix)

    def _by_prefix(self, column: str, prefix: str) -> str:
        what = "exchange" if column == "id" else "conversation"
        if not looks_like_id(prefix):
            raise UsageError(f"{prefix!r} is not a {what} id (ids are letters and digits; see `route log`)")
        sql = f"SELECT DISTINCT {column} FROM exchanges WHERE {column} >= ? AND {column} < ? LIMIT 2"
        low = prefix.lower()
        try:
            rows = self.conn.execute(sql, (low, low + "\x7f")).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._error("cannot read", error) from None
        if not rows:
            raise UsageError(f"no {what} {prefix!r} in the history (see `route log`)")
        if len(rows) > 1:
            raise UsageError(f"{prefix!r} names more than one {what}: give more of its id")
        return str(rows[0][0])

    def conversation(self, cid: str) -> list[Exchange]:
        return self._select("WHERE cid = ?", [cid], "ORDER BY id")

    def count(self) -> int:
        try:
            return int(self.conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise self._error("cannot read", error) from None

    def last(self) -> Exchange | None:
        found = self._select("", [], "ORDER BY id DESC LIMIT 1")
        return found[0] if found else None
