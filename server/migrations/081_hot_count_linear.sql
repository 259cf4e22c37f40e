-- metron: older servers compatible
-- 081_hot_count_linear: the hot rows written without their count (069)
-- counted once per account and transaction, not once per row.
--
-- 069's row trigger series_hot_count_inserted added each such row's samples
-- to shard 0 of its account's counter with an INSERT ... ON CONFLICT DO
-- UPDATE: one more version of the same counter row per inserted row, in one
-- transaction, and each update found the row by walking the versions made
-- before it, so one statement of N such rows cost in N^2 (64,000 rows: 55 s
-- of PostgreSQL CPU; docs/benchmarks.md "hotlog").
--
-- Now that trigger (the same trigger, its function replaced) appends the
-- row's account and samples to series_hot_uncounted, a narrow table without
-- an index (a plain insert, whatever was appended before) and marks the row
-- counted as before. The first row appended in a transaction (the setting
-- metron.hot_uncounted, local to the transaction, says whether one was)
-- queues the deferred constraint trigger series_hot_uncounted_fold, which at
-- the commit takes the transaction's appended rows out and adds their sum to
-- shard 0 of each account, in account order (as 069's DELETE trigger and the
-- server's group statements lock counter rows). So:
--  * the cost is linear in the rows;
--  * every other transaction sees the counters and the hot rows change in
--    the same commit, as before: DB_STORAGE_USED_SQL (account pages,
--    administration lists, the storage_notices job, quota checks), in
--    servers of 069 and later and of before, stays exactly the sum over the
--    hot rows it sees, and reads nothing new; series_hot_uncounted is empty
--    outside a writing transaction. Only that transaction itself, until it
--    commits (or SET CONSTRAINTS ... IMMEDIATE), reads counters without its
--    own uncounted rows (the server never writes such rows);
--  * the server's own ingest statements insert counted rows: the row
--    trigger's condition is false for them as before, and nothing new is
--    on series_hot (a statement trigger there, even one whose WHEN is
--    false, cost every INSERT about 31,000 instructions: its condition is
--    read and prepared for each statement; docs/benchmarks.md "hotlog").
-- series_hot_uncounted is UNLOGGED: its rows never outlive the transaction
-- that wrote them (after a crash, or on a promoted standby, it is empty, as
-- it is after every commit), so they cost no WAL.
--
-- Older servers compatible: nothing they name changes, their figures stay
-- exact (above); servers of before 069, whose hot rows are written without
-- their count, now have them counted in account order at each commit
-- instead of row by row in batch order, so two of them no longer deadlock
-- on the counters (checked with the kept binaries of 308d195 and 227ac79,
-- docs/benchmarks.md "hotlog").

CREATE UNLOGGED TABLE series_hot_uncounted (
    account_id  bigint NOT NULL,
    n           bigint NOT NULL,
    fold        boolean NOT NULL DEFAULT false
);

CREATE OR REPLACE FUNCTION mt_hot_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('metron.hot_uncounted', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('metron.hot_uncounted', 'on', true);
        INSERT INTO series_hot_uncounted (account_id, n, fold) VALUES (NEW.account_id, NEW.n, true);
    ELSE
        INSERT INTO series_hot_uncounted (account_id, n) VALUES (NEW.account_id, NEW.n);
    END IF;
    NEW.counted := true;
    RETURN NEW;
END $$;

-- The appended rows of this transaction (no other's: another transaction's
-- are taken out before it commits, and are not seen before) summed into
-- shard 0 of their accounts (none for an account that is gone, as in 069).
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
CREATE CONSTRAINT TRIGGER series_hot_uncounted_fold AFTER INSERT ON series_hot_uncounted
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.fold)
    EXECUTE FUNCTION mt_hot_count_fold();
