-- metron: older servers compatible
-- 069_hot_count: the hot samples of an account counted as they come and go,
-- so that "storage used" (P2; docs/operations.md "Storage quota") no longer
-- sums every un-compacted hot row (issue 16, notices). The quota counted
-- 24 bytes per hot sample as "24 * sum(n) FROM series_hot WHERE account_id
-- = a.id": a read of every hot row of the account, so when the compactor
-- fell behind (dense channels, a back-fill, the compactor stopped) one page
-- of the storage_notices job took 70-640 ms, and every account page and
-- administration list paid the same.
--
-- series_hot_count holds the account's hot samples in a few rows: the sum
-- of its rows' n over an account is the samples of the account's hot rows.
-- The figure is now sum(series_hot_count.n) (the server's
-- DB_STORAGE_USED_SQL, server/db/db_storage.h), exactly what the old sum
-- gave, read through at most 17 counter rows; no read of series_hot at all
-- (so no plan of it made while the hot table was empty either).
--
-- Who keeps it:
--  * The server's ingest statements (db_series.c) insert hot rows with
--    counted = true and, in the same statement, add their samples to the
--    account's counter row of their connection's shard (1..16, by backend
--    pid: connections do not wait on one another's row, and a group
--    statement adds once per account, in account order).
--  * Any other writer (a server of before 069 during a rolling restart, a
--    tool, a test) inserts without naming "counted" (its default is
--    false): the row trigger series_hot_count_inserted, which fires only
--    for such rows (WHEN (NOT NEW.counted): for the server's own rows the
--    condition is evaluated and nothing is called), adds the row's samples
--    to shard 0 and marks it counted, in the inserting statement.
--  * Every DELETE of hot rows (the compactor of any version, over-quota
--    deletion 026/030, account deletion 029) subtracts the counted rows it
--    removed from shard 0, in the same transaction, by the statement
--    trigger series_hot_count_deleted. Shards may go below 0; only their
--    sum means anything.
--  * TRUNCATE of series_hot empties the counters.
-- Hot rows are never updated (n and account_id never change).
--
-- Older servers compatible (the mark above): they name the columns they
-- write (their rows take counted's default and are counted by the trigger),
-- their compactor's and deletions' DELETEs are counted by the other
-- trigger, and their own figure is the sum they read, still exact (checked
-- with the kept binary of 3ab3fef beside this one: ingest through both, a
-- compaction by each, the figures equal).
--
-- The rows already there are counted here: the column is added as true for
-- them (no rewrite) and their sums written to shard 0, under the ACCESS
-- EXCLUSIVE lock ADD COLUMN takes, so no ingest or compaction runs between.
-- New rows default to false (then counted by the trigger).

ALTER TABLE series_hot ADD COLUMN counted boolean NOT NULL DEFAULT true;
ALTER TABLE series_hot ALTER COLUMN counted SET DEFAULT false;

-- No foreign key (a lookup per first write, and the deletion of an account
-- deletes every table's rows of it, 029); a deleted account's rows go there.
CREATE TABLE series_hot_count (
    account_id  bigint NOT NULL,
    shard       smallint NOT NULL CHECK (shard BETWEEN 0 AND 16),
    n           bigint NOT NULL,
    PRIMARY KEY (account_id, shard)
) WITH (fillfactor = 50);

INSERT INTO series_hot_count (account_id, shard, n)
SELECT h.account_id, 0, sum(h.n) FROM series_hot h
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = h.account_id)
GROUP BY h.account_id;

-- A hot row written without its count: its samples added to shard 0 of its
-- account (none for an account that is gone), the row marked counted. A
-- server of before 069 locks counter rows in the order of its batches, not
-- of accounts: two of its group statements may then deadlock, and each
-- batch of the one that fails is stored again alone (docs/storage.md).
CREATE FUNCTION mt_hot_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO series_hot_count AS c (account_id, shard, n)
    SELECT NEW.account_id, 0, NEW.n
    WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = NEW.account_id)
    ON CONFLICT (account_id, shard) DO UPDATE SET n = c.n + excluded.n;
    NEW.counted := true;
    RETURN NEW;
END $$;
CREATE TRIGGER series_hot_count_inserted BEFORE INSERT ON series_hot
    FOR EACH ROW WHEN (NOT NEW.counted) EXECUTE FUNCTION mt_hot_count_inserted();

-- The counted rows a DELETE removed, subtracted from shard 0 of their
-- accounts (in account order: the ingest statements lock counter rows in
-- that order too). An account deleted in this transaction (029 deletes the
-- account's row first) gets no row back.
CREATE FUNCTION mt_hot_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO series_hot_count AS c (account_id, shard, n)
    SELECT g.account_id, 0, -sum(g.n) FROM gone g
    WHERE g.counted AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = g.account_id)
    GROUP BY g.account_id ORDER BY g.account_id
    ON CONFLICT (account_id, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER series_hot_count_deleted AFTER DELETE ON series_hot
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION mt_hot_count_deleted();

CREATE FUNCTION mt_hot_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM series_hot_count;
    RETURN NULL;
END $$;
CREATE TRIGGER series_hot_count_truncated AFTER TRUNCATE ON series_hot
    FOR EACH STATEMENT EXECUTE FUNCTION mt_hot_count_truncated();
