-- metron: older servers compatible
-- 081_hot_count_linear: the hot rows written without their count (069)
-- counted once per statement and account, not once per row.
--
-- 069's row trigger series_hot_count_inserted added each such row's samples
-- to shard 0 of its account's counter with an INSERT ... ON CONFLICT DO
-- UPDATE: one more version of the same counter row per inserted row, in one
-- transaction, and each update found the row by walking the versions the
-- statement had made before it, so one statement of N such rows cost in N^2
-- (docs/benchmarks.md "hotlog": 64,000 rows in one statement took minutes).
--
-- Now the row trigger (the same trigger, its function replaced) appends the
-- row's account and samples to series_hot_uncounted, a narrow table without
-- an index (a plain insert, whatever was appended before), marks the row
-- counted as before and notes in a setting of the transaction
-- (metron.hot_uncounted) that something waits there. The statement trigger
-- series_hot_count_folded, at the end of the same INSERT (or COPY)
-- statement, takes those rows out and adds their sum to shard 0 of each
-- account, in account order (as 069's DELETE trigger and the server's group
-- statements lock counter rows): once per account per statement. So:
--  * the cost is linear in the rows;
--  * between statements series_hot_uncounted is empty: every reader, in
--    this transaction or another (DB_STORAGE_USED_SQL, the storage_notices
--    job, account pages, administration lists, servers of 069 and 080),
--    sees counters that hold exactly the sum over the hot rows it sees, as
--    before, and reads nothing new;
--  * the server's own ingest statements insert counted rows: the row
--    trigger's condition is false for them as before, and the statement
--    trigger's condition (the setting, read once at the end of the
--    statement) is false, so no function is called and nothing is queued.
-- series_hot_uncounted is UNLOGGED: its rows never outlive the statement
-- that wrote them (after a crash, or on a promoted standby, it is empty, as
-- it is after every committed statement), so they cost no WAL.
--
-- Older servers compatible: nothing they name changes (the trigger's
-- function keeps its name and its effect on the counters at the end of
-- every statement); servers of before 069 that insert rows without their
-- count now have them counted in account order at the end of each group
-- statement instead of row by row in batch order (checked with kept
-- binaries, docs/benchmarks.md "hotlog").

CREATE UNLOGGED TABLE series_hot_uncounted (
    account_id  bigint NOT NULL,
    n           bigint NOT NULL
);

CREATE OR REPLACE FUNCTION mt_hot_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO series_hot_uncounted (account_id, n) VALUES (NEW.account_id, NEW.n);
    IF current_setting('metron.hot_uncounted', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('metron.hot_uncounted', 'on', true);
    END IF;
    NEW.counted := true;
    RETURN NEW;
END $$;

-- The appended rows of this transaction (no other's: another transaction's
-- are taken out by its own statement before it commits) summed into shard
-- 0 of their accounts (none for an account that is gone, as in 069).
CREATE FUNCTION mt_hot_count_fold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('metron.hot_uncounted', 'off', true);
    WITH gone AS (DELETE FROM series_hot_uncounted RETURNING account_id, n)
    INSERT INTO series_hot_count AS c (account_id, shard, n)
    SELECT g.account_id, 0, sum(g.n) FROM gone g
    WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = g.account_id)
    GROUP BY g.account_id ORDER BY g.account_id
    ON CONFLICT (account_id, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER series_hot_count_folded AFTER INSERT ON series_hot
    FOR EACH STATEMENT WHEN (current_setting('metron.hot_uncounted', true) = 'on')
    EXECUTE FUNCTION mt_hot_count_fold();
