"""Write-ahead rows: an attempt is in the ledger before its request leaves, and settled in place afterwards.

A row is first inserted with status 'in_flight' and the worst-case estimate (prompt tokens plus the whole
output reserve), so a budget check counts a call that is still running, and a process killed by SIGKILL or a
power cut leaves the call in the ledger at its estimate ("unsettled" in reports). When the attempt ends, the
row with the same `attempt_id` is overwritten with the real usage (an upsert: the same statement inserts a
row that was never written ahead). The rollup must follow an UPDATE too: the trigger below takes the old
row out of its totals (dropping a total left with no calls) and adds the new one.
"""

from __future__ import annotations

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
        DELETE FROM rollup WHERE calls = 0 AND {_OLD_KEY};
        INSERT INTO rollup VALUES (NEW.day, NEW.alias, NEW.provider, COALESCE(NEW.task, ''),
            COALESCE(NEW.profile, ''), NEW.status, NEW.command, 1, NEW.status != 'ok',
            NEW.chain_position = 0 AND NEW.try_number = 0, COALESCE(NEW.input_tokens, 0),
            COALESCE(NEW.output_tokens, 0), COALESCE(NEW.cached_input_tokens, 0), COALESCE(NEW.cost_nano, 0),
            NEW.cost_nano IS NULL, NEW.ts, NEW.ts)
        ON CONFLICT (day, alias, provider, task, profile, status, command) DO UPDATE SET
            calls = calls + 1, failed = failed + excluded.failed, requests = requests + excluded.requests,
            input_tokens = input_tokens + excluded.input_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
            cost_nano = cost_nano + excluded.cost_nano, unpriced = unpriced + excluded.unpriced,
            min_ts = MIN(min_ts, excluded.min_ts), max_ts = MAX(max_ts, excluded.max_ts);
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
