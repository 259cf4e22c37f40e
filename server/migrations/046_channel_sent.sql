-- 046_channel_sent: the measured channels of which a sample was ever
-- stored, so that the group monitor (series_read_monitor(), issue 16) knows
-- a channel that never sent data (a spare input of a logger) without
-- reading the hot table.
--
-- The monitor bounds its read of the account's newest hot rows by the
-- oldest channel_latest time of the group's channels. A channel without a
-- channel_latest row made that bound -infinity: every request read the
-- account's hot rows until they ran out (the whole backlog, and after the
-- compactor folded it, every dead index entry until VACUUM: measured 1.5 ms
-- and 2,364 buffers per request after 221 k hot rows were folded, against
-- 0.04 ms with a bound). A channel without a row here has no sample in the
-- hot table, so the monitor leaves it out of the bound.
--
-- What keeps that true ("no row here" proves "no hot sample"):
-- * Every writer of hot rows (db_series.c: the small and group ingest
--   statements, db_hot_insert() for large batches and the file import)
--   first makes the rows of the channels it does not yet know to have one,
--   with INSERT ... ON CONFLICT DO NOTHING, committed before the hot row
--   (its own statement outside a transaction) or in the same transaction.
--   Each process remembers the channels whose rows it saw committed, so a
--   batch of known channels pays a hash look-up per channel and no SQL.
-- * A row is deleted only with its channel (mt_channel_deleted(), below)
--   or its account (mt_account_delete() deletes every table's rows of the
--   account). Channel ids are never used again, so what a process
--   remembers stays true. Deleting data (over quota, retention, a
--   computed channel's recomputation) leaves the rows: a row too many only
--   costs the monitor the read it did before this migration.
--
-- The rows of channels that have a stored sample now: a channel_latest row
-- or a record in a hot row (24-byte records {i64 channel id, i64 t, f64 v},
-- little-endian: 004_data.sql). Computed channels never reach the hot
-- table and get no row.
CREATE TABLE channel_sent (
    channel_id   bigint PRIMARY KEY,
    account_id   bigint NOT NULL
);

INSERT INTO channel_sent (channel_id, account_id)
SELECT c.id, c.account_id FROM channels c
WHERE c.expression IS NULL AND (
    EXISTS (SELECT 1 FROM channel_latest l WHERE l.channel_id = c.id)
    OR c.id IN (
        SELECT get_byte(h.payload, 24 * k)::bigint
             | (get_byte(h.payload, 24 * k + 1)::bigint << 8)
             | (get_byte(h.payload, 24 * k + 2)::bigint << 16)
             | (get_byte(h.payload, 24 * k + 3)::bigint << 24)
             | (get_byte(h.payload, 24 * k + 4)::bigint << 32)
             | (get_byte(h.payload, 24 * k + 5)::bigint << 40)
             | (get_byte(h.payload, 24 * k + 6)::bigint << 48)
             | (get_byte(h.payload, 24 * k + 7)::bigint << 56)
        FROM series_hot h, generate_series(0, h.n - 1) k))
ON CONFLICT DO NOTHING;

-- The monitor's first page of the account's newest hot rows (the statement
-- ser_monitor_read, series_read.c; as mt_hot_newest() of 040 from the top):
-- the first "page" rows newest first by (t_max, id), none older than
-- "need", the oldest channel_latest time of the channels "ch_ids". The
-- statement gives "need" only when every channel has a channel_latest row
-- (the everyday read: one query, as mt_hot_newest()). Else "need" is NULL
-- and the function looks the channels up itself: the channels with neither
-- a channel_latest nor a channel_sent row (none stored a sample) come
-- first, as rows of their id and NULLs, and are left out of the bound,
-- which is then the others' oldest channel_latest time (no hot row at all
-- when none has one), or -infinity when a channel with a stored sample has
-- no channel_latest row (its samples are still hot, or were deleted).
-- Planned as 040's functions (the generic plan forced, sorts off), once per
-- connection, and without sequential scans: a plan made while
-- channel_latest or channel_sent is small would keep reading them whole
-- (a join by hash, a scan per channel) on that connection as they grow.
-- It reads with the calling statement's snapshot (STABLE).
--
-- Measured with callgrind (postgres --single, 32 channels, per execution of
-- the monitor's statement, its rows printed; docs/benchmarks.md): before
-- this migration 870 k instructions; with this function 869 k when every
-- channel has a channel_latest row, 1,235 k with one channel that never
-- sent (the look-up and that channel's row; before, 971 k and then the
-- further pages down to the last hot row). The same look-up written into
-- the statement cost the everyday read 42-106 k more: its plan nodes are
-- set up on every execution even when they do not run.
CREATE FUNCTION mt_monitor_hot(acct bigint, ch_ids bigint[], need bigint, page integer)
RETURNS TABLE (id bigint, t_max bigint, payload bytea)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_sort = off
SET enable_seqscan = off
AS $$
DECLARE
    have bigint[];
    unsent bigint[];
    n_latest bigint;
BEGIN
    IF need IS NOT NULL THEN
        RETURN QUERY
        SELECT h.id, h.t_max, h.payload FROM series_hot h
        WHERE h.account_id = acct AND h.t_max >= need
        ORDER BY h.t_max DESC, h.id DESC LIMIT page;
        RETURN;
    END IF;
    SELECT COALESCE(array_agg(l.channel_id), '{}'), count(*), min(l.t)
    INTO have, n_latest, need
    FROM channel_latest l WHERE l.channel_id = ANY(ch_ids);
    -- The test of channel_sent in the aggregate's FILTER: a subplan probed
    -- per channel without a channel_latest row, never a join.
    SELECT COALESCE(array_agg(c.id) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM channel_sent s WHERE s.channel_id = c.id)), '{}')
    INTO unsent
    FROM unnest(ch_ids) AS c(id) WHERE c.id <> ALL(have);
    need := CASE WHEN n_latest + cardinality(unsent) = cardinality(ch_ids)
                 THEN COALESCE(need, '9223372036854775807'::bigint)
                 ELSE '-9223372036854775808'::bigint END;
    RETURN QUERY
    SELECT u.id, NULL::bigint, NULL::bytea FROM unnest(unsent) AS u(id)
    UNION ALL
    (SELECT h.id, h.t_max, h.payload FROM series_hot h
     WHERE h.account_id = acct AND h.t_max >= need
     ORDER BY h.t_max DESC, h.id DESC LIMIT page);
END $$;

-- A deleted channel's row goes with its samples (004_data.sql's trigger,
-- the same function with one more DELETE).
CREATE OR REPLACE FUNCTION mt_channel_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    freed bigint;
BEGIN
    WITH gone AS (
        DELETE FROM series_day WHERE channel_id = OLD.id
        RETURNING octet_length(data) + octet_length(hours) AS b)
    SELECT COALESCE(sum(b), 0) INTO freed FROM gone;
    DELETE FROM channel_latest WHERE channel_id = OLD.id;
    DELETE FROM channel_sent WHERE channel_id = OLD.id;
    IF freed > 0 THEN
        UPDATE account_storage SET data_bytes = greatest(data_bytes - freed, 0)
            WHERE account_id = OLD.account_id;
    END IF;
    RETURN OLD;
END $$;
