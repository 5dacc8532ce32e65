"""Write-ahead rows: an attempt is in the ledger before its request leaves, and settled in place afterwards.

A row is first inserted with status 'in_flight' and the worst-case estimate (prompt tokens plus the whole
output reserve), so a budget check counts a call that is still running, and a process killed by SIGKILL or a
power cut leaves the call in the ledger at its estimate ("unsettled" in reports). When the attempt ends, the
row with the same `attempt_id` is overwritten with the real usage (an upsert: the same statement inserts a
row that was never written ahead). The rollup must follow an UPDATE too: the trigger below takes the old
row out of its totals (dropping a total left with no calls) and adds the new one.
"""

from __future__ import annotations

from routecli.ledger.rollup_sql import ADD_NEW_ROW

IN_FLIGHT = "in_flight"  # the status of a row written ahead and not settled (yet, or ever: a killed process)

_OLD_KEY = (
    "day = OLD.day AND alias = OLD.alias AND provider = OLD.provider AND task = COALESCE(OLD.task, '') "
    "AND profile = COALESCE(OLD.profile, '') AND status = OLD.status AND command = OLD.command"
)

# 4 -> 5 of store._MIGRATIONS.
MIGRATION: list[str] = [
    "ALTER TABLE attempts ADD COLUMN attempt_id TEXT",  # one per attempt; NULL in rows from before this
    "CREATE UNIQUE INDEX attempts_attempt_id ON attempts (attempt_id)",  # NULLs never conflict
    f"""
    CREATE TRIGGER attempts_rollup_settle AFTER UPDATE ON attempts BEGIN
        UPDATE rollup SET calls = calls - 1, failed = failed - (OLD.status != 'ok'),
            requests = requests - (OLD.chain_position = 0 AND OLD.try_number = 0),
            input_tokens = input_tokens - COALESCE(OLD.input_tokens, 0),
            output_tokens = output_tokens - COALESCE(OLD.output_tokens, 0),
            cached_input_tokens = cached_input_tokens - COALESCE(OLD.cached_input_tokens, 0),
            cost_nano = cost_nano - COALESCE(OLD.cost_nano, 0), unpriced = unpriced - (OLD.cost_nano IS NULL)
        WHERE {_OLD_KEY};
        DELETE FROM rollup WHERE calls = 0 AND {_OLD_KEY};{ADD_NEW_ROW}
    END""",
]


def upsert_sql(columns: tuple[str, ...]) -> str:
    """Insert a row, or settle the one written ahead with the same attempt_id (the UPDATE trigger fires)."""
    names = ", ".join(columns)
    placeholders = ", ".join("?" for _ in columns)
    settled = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "attempt_id")
    return (
        f"INSERT INTO attempts ({names}) VALUES ({placeholders}) "
        f"ON CONFLICT (attempt_id) DO UPDATE SET {settled}"
    )
