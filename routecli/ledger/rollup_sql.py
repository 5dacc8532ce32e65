"""The SQL that adds a new attempt row (NEW) to the SQLite ledger's running totals: the body of the rollup's
insert trigger (sqlite_schema.py), and the second half of the trigger that settles a row written ahead
(writeahead.py). One statement, so the two triggers can never count a row differently."""

ADD_NEW_ROW = """
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
            min_ts = MIN(min_ts, excluded.min_ts), max_ts = MAX(max_ts, excluded.max_ts);"""
