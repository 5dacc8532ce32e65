"""The ledger's tables in PostgreSQL: the same attempts and rollup as SQLite's (ledger/store.py), in
PostgreSQL's SQL, versioned in a one-row `route_schema` table.

`PG_MIGRATIONS[n]` takes a database from version n to n + 1, like store._MIGRATIONS for SQLite. Version 1 is
the whole of SQLite's schema at the time PostgreSQL support arrived, plus who made each call (user_name, host,
tag); a column added to SQLite later gets its own entry here too (tests/test_postgres.py checks that every
column SQLite writes exists here).
"""

from __future__ import annotations

_ATTEMPTS = """
CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    ts DOUBLE PRECISION NOT NULL, day TEXT NOT NULL, request_id TEXT NOT NULL, command TEXT NOT NULL,
    task TEXT, profile TEXT, alias TEXT NOT NULL, provider TEXT NOT NULL, model_id TEXT NOT NULL,
    reported_model_id TEXT, chain_position INTEGER NOT NULL, try_number INTEGER NOT NULL, status TEXT NOT NULL,
    error_kind TEXT, error TEXT, input_tokens BIGINT, output_tokens BIGINT, cached_input_tokens BIGINT,
    cache_write_tokens BIGINT, reasoning_tokens BIGINT, usage_estimated INTEGER NOT NULL DEFAULT 0,
    cost_usd TEXT, cost_nano BIGINT, price_source TEXT, first_token_s DOUBLE PRECISION,
    total_s DOUBLE PRECISION, reason TEXT, prompt TEXT, stage TEXT, first_byte_s DOUBLE PRECISION,
    overhead_s DOUBLE PRECISION,
    complexity INTEGER, decision_tokens INTEGER, input_bytes INTEGER, flags TEXT, policy_hash TEXT,
    user_name TEXT, host TEXT, tag TEXT,
    attempt_id TEXT
)"""

# One attempt is one (start time, request, position in the chain, try, stage): a pending file sent twice, or a
# personal ledger imported twice, adds nothing the second time. Start time first: new rows go to the index's
# right edge, whose pages are in memory (a random request id first costs page reads on a big ledger), and the
# index serves the reports' time ranges, so no other index on ts is kept up on every insert.
_ONCE = (
    "CREATE UNIQUE INDEX attempts_once ON attempts (ts, request_id, chain_position, try_number, COALESCE(stage, ''))"
)

# Running totals per day and report key; NULL keys are stored as '' so that the UNIQUE key holds.
ROLLUP_KEYS = ("day", "alias", "provider", "task", "profile", "status", "command", "user_name", "host", "tag")
_NULLABLE_KEYS = ("task", "profile", "user_name", "host", "tag")


def _key_value(key: str, row: str = "NEW") -> str:
    return f"COALESCE({row}.{key}, '')" if key in _NULLABLE_KEYS else f"{row}.{key}"


# The rollup row an updated attempt was counted in (an attempt settled in place; see _ROLLUP_TRIGGER).
_OLD_KEY = " AND ".join(f"{key} = {_key_value(key, 'OLD')}" for key in ROLLUP_KEYS)


_ROLLUP = f"""
CREATE TABLE rollup (
    {", ".join(f"{key} TEXT NOT NULL" for key in ROLLUP_KEYS)},
    calls BIGINT NOT NULL, failed BIGINT NOT NULL, requests BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cached_input_tokens BIGINT NOT NULL,
    cost_nano BIGINT NOT NULL, unpriced BIGINT NOT NULL, min_ts DOUBLE PRECISION NOT NULL,
    max_ts DOUBLE PRECISION NOT NULL,
    UNIQUE ({", ".join(ROLLUP_KEYS)})
)"""

_ROLLUP_TRIGGER = f"""
CREATE FUNCTION attempts_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN  -- a row settled in place (attempt_id upsert): take the old row out first
        UPDATE rollup SET calls = calls - 1, failed = failed - (OLD.status <> 'ok')::int,
            requests = requests - (OLD.chain_position = 0 AND OLD.try_number = 0)::int,
            input_tokens = input_tokens - COALESCE(OLD.input_tokens, 0),
            output_tokens = output_tokens - COALESCE(OLD.output_tokens, 0),
            cached_input_tokens = cached_input_tokens - COALESCE(OLD.cached_input_tokens, 0),
            cost_nano = cost_nano - COALESCE(OLD.cost_nano, 0), unpriced = unpriced - (OLD.cost_nano IS NULL)::int
        WHERE {_OLD_KEY};
        DELETE FROM rollup WHERE calls = 0 AND {_OLD_KEY};
    END IF;
    INSERT INTO rollup VALUES ({", ".join(_key_value(key) for key in ROLLUP_KEYS)},
        1, (NEW.status <> 'ok')::int, (NEW.chain_position = 0 AND NEW.try_number = 0)::int,
        COALESCE(NEW.input_tokens, 0), COALESCE(NEW.output_tokens, 0), COALESCE(NEW.cached_input_tokens, 0),
        COALESCE(NEW.cost_nano, 0), (NEW.cost_nano IS NULL)::int, NEW.ts, NEW.ts)
    ON CONFLICT ({", ".join(ROLLUP_KEYS)}) DO UPDATE SET
        calls = rollup.calls + 1, failed = rollup.failed + EXCLUDED.failed,
        requests = rollup.requests + EXCLUDED.requests,
        input_tokens = rollup.input_tokens + EXCLUDED.input_tokens,
        output_tokens = rollup.output_tokens + EXCLUDED.output_tokens,
        cached_input_tokens = rollup.cached_input_tokens + EXCLUDED.cached_input_tokens,
        cost_nano = rollup.cost_nano + EXCLUDED.cost_nano, unpriced = rollup.unpriced + EXCLUDED.unpriced,
        min_ts = LEAST(rollup.min_ts, EXCLUDED.min_ts), max_ts = GREATEST(rollup.max_ts, EXCLUDED.max_ts);
    RETURN NULL;
END $$"""

# Budget reservations (ledger/reservations.py): the worst case of each request in flight, until it is recorded.
_RESERVATIONS = """
CREATE TABLE reservations (
    id BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL, user_name TEXT, day TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL, amount_nano BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL
)"""

# Cooldowns every user of the ledger shares (ledger/shared_cooldowns.py): "provider:NAME" / "model:ALIAS".
_COOLDOWNS = "CREATE TABLE cooldowns (key TEXT PRIMARY KEY, until DOUBLE PRECISION NOT NULL, reason TEXT NOT NULL)"

PG_MIGRATIONS: list[list[str]] = [
    # 0 -> 1: attempts, the rollup and its triggers (SQLite's schema version 4, plus attribution and the
    # write-ahead attempt_id), budget reservations and shared cooldowns.
    [
        _ATTEMPTS,
        _ONCE,
        _ROLLUP,
        "CREATE INDEX rollup_day ON rollup (day)",
        _ROLLUP_TRIGGER,
        "CREATE TRIGGER attempts_rollup AFTER INSERT ON attempts FOR EACH ROW EXECUTE FUNCTION attempts_rollup()",
        # Write-ahead rows (branch `interrupts`): an attempt written before it is sent, settled in place later.
        "CREATE UNIQUE INDEX attempts_attempt_id ON attempts (attempt_id) WHERE attempt_id IS NOT NULL",
        "CREATE TRIGGER attempts_rollup_settle AFTER UPDATE ON attempts FOR EACH ROW "
        "EXECUTE FUNCTION attempts_rollup()",
        _RESERVATIONS,
        "CREATE INDEX reservations_expiry ON reservations (expires_at)",
        _COOLDOWNS,
    ],
]
PG_SCHEMA_VERSION = len(PG_MIGRATIONS)

# SQLite sums booleans; PostgreSQL needs them cast. Same sums, in Totals' order, as store.RAW_SUMS.
PG_RAW_SUMS = (
    "COUNT(*), SUM((status <> 'ok')::int), SUM((chain_position = 0 AND try_number = 0)::int), "
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_input_tokens), 0), "
    "COALESCE(SUM(cost_nano), 0), SUM((cost_nano IS NULL)::int)"
)
