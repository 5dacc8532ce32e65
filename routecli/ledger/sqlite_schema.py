"""The SQLite ledger's schema, as the migrations that build it: `_MIGRATIONS[n]` takes a ledger from version n
to n + 1, so a later release opens an older ledger without loss (ledger/store.py applies them)."""

from __future__ import annotations

from routecli.ledger import writeahead
from routecli.ledger.facts import FACT_MIGRATION
from routecli.ledger.rollup_sql import ADD_NEW_ROW

_MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the attempts table.
    [
        """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,                 -- unix time the attempt started
        day TEXT NOT NULL,                -- local calendar day, YYYY-MM-DD
        request_id TEXT NOT NULL,         -- one per route invocation; attempts of one request share it
        command TEXT NOT NULL,
        task TEXT,
        profile TEXT,
        alias TEXT NOT NULL,
        provider TEXT NOT NULL,
        model_id TEXT NOT NULL,           -- the id we asked for
        reported_model_id TEXT,           -- the id the provider says it used
        chain_position INTEGER NOT NULL,  -- 0 = the chosen model, 1 = first fallback, ...
        try_number INTEGER NOT NULL,      -- 0 = first try of that model, 1.. = retries
        status TEXT NOT NULL,             -- ok | retry | fallback | error | interrupted | validation_failed
        error_kind TEXT,
        error TEXT,
        input_tokens INTEGER,             -- every prompt token, cached ones included
        output_tokens INTEGER,
        cached_input_tokens INTEGER,
        cache_write_tokens INTEGER,
        reasoning_tokens INTEGER,
        usage_estimated INTEGER NOT NULL DEFAULT 0,
        cost_usd TEXT,                    -- exact decimal; NULL = unpriced
        cost_nano INTEGER,                -- the same in nano-dollars, for sums
        price_source TEXT,                -- e.g. "genai-prices 0.2.3" or "policy"
        first_token_s REAL,
        total_s REAL,
        reason TEXT,
        prompt TEXT                       -- only with --log-prompts
    )""",
        "CREATE INDEX attempts_ts ON attempts (ts)",
    ],
    # 1 -> 2: which stage of a request an attempt was (map-reduce summaries make several calls).
    ["ALTER TABLE attempts ADD COLUMN stage TEXT"],
    # 2 -> 3: running totals per day and report key, kept by a trigger, so `route costs` and the budget
    # check read a few thousand rows instead of scanning every attempt. task and profile are '' for NULL
    # (a UNIQUE key treats NULLs as distinct). min_ts / max_ts tell whether a day lies wholly in a range.
    [
        """
    CREATE TABLE rollup (
        day TEXT NOT NULL, alias TEXT NOT NULL, provider TEXT NOT NULL, task TEXT NOT NULL,
        profile TEXT NOT NULL, status TEXT NOT NULL, command TEXT NOT NULL,
        calls INTEGER NOT NULL, failed INTEGER NOT NULL, requests INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
        cost_nano INTEGER NOT NULL, unpriced INTEGER NOT NULL, min_ts REAL NOT NULL, max_ts REAL NOT NULL,
        UNIQUE (day, alias, provider, task, profile, status, command)
    )""",
        """
    INSERT INTO rollup SELECT day, alias, provider, COALESCE(task, ''), COALESCE(profile, ''), status, command,
        COUNT(*), SUM(status != 'ok'), SUM(chain_position = 0 AND try_number = 0), COALESCE(SUM(input_tokens), 0),
        COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(cost_nano), 0),
        SUM(cost_nano IS NULL), MIN(ts), MAX(ts)
    FROM attempts GROUP BY 1, 2, 3, 4, 5, 6, 7""",
        f"""
    CREATE TRIGGER attempts_rollup AFTER INSERT ON attempts BEGIN{ADD_NEW_ROW}
    END""",
    ],
    # 3 -> 4: the provider's time apart from route's: first_token_s and total_s count from the request
    # going out; first_byte_s is request -> response headers; overhead_s is route's own time in the attempt.
    ["ALTER TABLE attempts ADD COLUMN first_byte_s REAL", "ALTER TABLE attempts ADD COLUMN overhead_s REAL"],
    FACT_MIGRATION,  # 4 -> 5 (route replay): the decision's inputs beside each attempt (ledger/facts.py)
    # 4 -> 5 (write-ahead rows, issue 9 point 10): attempt_id, and a trigger keeping the rollup right on settling.
    writeahead.MIGRATION,
    # (attribution, issue 14) who made the call: for `route costs --by user|host|tag` on a shared ledger.
    [f"ALTER TABLE attempts ADD COLUMN {name} TEXT" for name in ("user_name", "host", "tag")],
]
ROLLUP_VERSION = 3  # from this schema version on, the rollup table exists
